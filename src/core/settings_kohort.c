/* SPDX-License-Identifier: MIT */
/*
 * settings_kohort.c -- the org settings of the Kohort API ("kohort.*"), with their checks.
 */
#include "core/settings.h"

#include <stddef.h>

const struct setting_def settings_kohort[] = {
    {NULL, NULL, NULL},
};
