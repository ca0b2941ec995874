/* SPDX-License-Identifier: MIT */
/*
 * cli_io.h -- the `orderd export` and `orderd import` commands (README "Import and
 * export"): output, input files, progress and reports. The import rules themselves are
 * in core/orderio.c. Each returns the process exit code: 0 ok, 1 failure (for import:
 * at least one line failed).
 */
#ifndef ORDERD_CLI_IO_H
#define ORDERD_CLI_IO_H

#include <stdbool.h>

#include "core/app.h"
#include "core/ids.h"

/* Writes every order of the org and mode to stdout, one /v1 order object per line. */
int cli_export(struct app *app, const char *org_id, enum key_mode mode);
/* Creates an order from each line of file ("-": stdin). json: reports and the summary
 * as JSON. */
int cli_import(struct app *app, const char *org_id, enum key_mode mode, const char *file,
               bool json);

#endif
