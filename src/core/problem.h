/* SPDX-License-Identifier: MIT */
/*
 * problem.h -- RFC 9457 problem+json answers for /v1 and the HTTP level, with a stable
 * `code`, field errors and the request id. Dialects map the same field errors to their
 * own bodies. Messages never carry internal details (SQL, paths, library text).
 */
#ifndef ORDERD_PROBLEM_H
#define ORDERD_PROBLEM_H

#include "core/limits.h"
#include "core/req.h"

struct field_error {
    char field[96];
    const char *code; /* static */
    char message[160];
};

struct problems {
    int n;
    int dropped; /* errors beyond LIMIT_FIELD_ERRORS */
    struct field_error e[LIMIT_FIELD_ERRORS];
};

/* Records a field error; field is printf-style built by the caller. */
void problems_add(struct problems *p, const char *field, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Title for a stable code ("Validation failed"...). */
const char *problem_title(const char *code);

/* Builds the problem body into req->resp. detail may be NULL (title used). extra_json,
 * when not NULL, is a compact JSON object text whose members are added (e.g.
 * {"existing_order_id":"…"}). */
void problem_send(struct req *req, int status, const char *code, const char *detail,
                  const struct problems *fields, const char *extra_json);
/* Shorthand with a formatted detail and no field errors. */
void problem_sendf(struct req *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
