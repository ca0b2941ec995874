/* SPDX-License-Identifier: MIT */
/*
 * settings_cherry.c -- the org settings of the Cherry Checkout API ("cherry.*"), with their checks.
 */
#include "core/settings.h"

#include <stddef.h>

const struct setting_def settings_cherry[] = {
    {NULL, NULL, NULL},
};
