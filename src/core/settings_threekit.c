/* SPDX-License-Identifier: MIT */
/*
 * settings_threekit.c -- the org settings of the Threekit API ("threekit.*"), with their checks.
 */
#include "core/settings.h"

#include <stddef.h>

const struct setting_def settings_threekit[] = {
    {NULL, NULL, NULL},
};
