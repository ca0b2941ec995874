/* SPDX-License-Identifier: MIT */
/*
 * settings.h -- org settings (`orderd org set ORG KEY=VALUE`): the list of known keys,
 * their validation and their documentation. Settings are stored as one JSON object of
 * strings per org.
 */
#ifndef ORDERD_SETTINGS_H
#define ORDERD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

/* Checks value; writes the normalised value to norm. Returns 0, or -1 with err. */
typedef int (*setting_check)(const char *value, char *norm, size_t normlen, char *err,
                             size_t errlen);

struct setting_def {
    const char *key; /* NULL ends a table */
    setting_check check;
    const char *help;
};

/* Each API's settings, in core/settings_<api>.c (keys prefixed "<api>."). */
extern const struct setting_def settings_cherry[];
extern const struct setting_def settings_dropday[];
extern const struct setting_def settings_threekit[];
extern const struct setting_def settings_kohort[];

/* Applies key=value to the settings JSON text cur. An empty value removes the key.
 * Returns 0 and a new malloc'd JSON text in *out, or -1 with a message in err. */
int settings_apply(const char *cur, const char *key, const char *value, char **out, char *err,
                   size_t errlen);
/* Value of key in settings JSON text, copied into out (empty when unset). */
void settings_get(const char *settings, const char *key, char *out, size_t size);
/* Does origin match one of the org's allowed_origins? */
bool settings_origin_allowed(const char *settings, const char *origin);
/* Prints every known setting with its description (for `orderd org set --help`). */
const char *settings_help(void);

#endif
