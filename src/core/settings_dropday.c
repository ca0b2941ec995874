/* SPDX-License-Identifier: MIT */
/*
 * settings_dropday.c -- the org settings of the Dropday API ("dropday.*"), with their checks.
 */
#include "core/settings.h"

#include <stddef.h>

const struct setting_def settings_dropday[] = {
    {NULL, NULL, NULL},
};
