/* SPDX-License-Identifier: MIT */
/*
 * log.h -- one-line logs to stderr. Every line that concerns a request carries its
 * request id; details that must never reach a client (SQL text, errno, library
 * messages) are written here and only here.
 */
#ifndef ORDERD_LOG_H
#define ORDERD_LOG_H

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Emits a raw line (already formatted, e.g. a JSON access-log record). */
void log_line(const char *line);

#endif
