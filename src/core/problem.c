/* SPDX-License-Identifier: MIT */
/*
 * problem.c -- problem+json bodies (problem.h). One table maps each stable code to its
 * title; docs/api-v1.md lists the same codes.
 */
#include "core/problem.h"

#include "core/buf.h"
#include "core/jsonx.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *code;
    const char *title;
} titles[] = {
    {"invalid_json", "Request body is not valid JSON"},
    {"json_too_deep", "Request body is nested too deeply"},
    {"invalid_body", "Request body must be a JSON object"},
    {"invalid_query", "Invalid query parameter"},
    {"invalid_header", "Invalid request header"},
    {"missing_api_key", "No API key provided"},
    {"invalid_api_key", "Invalid API key"},
    {"permission_denied", "This key may not do that"},
    {"origin_not_allowed", "Origin not allowed"},
    {"route_not_found", "No such route"},
    {"order_not_found", "No such order"},
    {"method_not_allowed", "Method not allowed"},
    {"external_id_conflict", "An order with this external_id already exists"},
    {"idempotency_key_in_use", "A request with this Idempotency-Key is still running"},
    {"version_conflict", "The order has changed"},
    {"invalid_state_transition", "That status change is not allowed"},
    {"precondition_failed", "If-Match does not match the current version"},
    {"body_too_large", "Request body too large"},
    {"unsupported_media_type", "Content-Type must be application/json"},
    {"validation_failed", "Validation failed"},
    {"idempotency_key_reused", "Idempotency-Key reused with a different request"},
    {"headers_too_large", "Request headers too large"},
    {"internal_error", "Internal error"},
    {"store_unavailable", "Storage unavailable"},
    {"shutting_down", "The server is stopping"},
    {"rate_limited", "Too many requests"},
    {"webhook_endpoint_not_found", "No such webhook endpoint"},
    {"webhook_delivery_not_found", "No such webhook delivery"},
    {"webhook_endpoint_disabled", "The webhook endpoint is disabled"},
    {"too_many_webhook_endpoints", "Too many webhook endpoints"},
};

void
problems_add(struct problems *p, const char *field, const char *code, const char *fmt, ...)
{
    struct field_error *e;
    va_list ap;

    if (p->n >= LIMIT_FIELD_ERRORS) {
        p->dropped++;
        return;
    }
    e = &p->e[p->n++];
    snprintf(e->field, sizeof e->field, "%s", field);
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

const char *
problem_title(const char *code)
{
    for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++)
        if (strcmp(titles[i].code, code) == 0)
            return titles[i].title;
    return "Error";
}

void
problem_send(struct req *req, int status, const char *code, const char *detail,
             const struct problems *fields, const char *extra_json)
{
    struct buf b = {0};
    char *body;
    size_t len = 0;

    buf_printf(&b, "{\"type\":\"urn:orderd:problem:%s\",\"title\":", code);
    jsonx_quote(&b, problem_title(code));
    buf_printf(&b, ",\"status\":%d,\"detail\":", status);
    jsonx_quote(&b, detail != NULL ? detail : problem_title(code));
    buf_printf(&b, ",\"code\":\"%s\",\"request_id\":\"%s\"", code, req->id);
    if (fields != NULL && fields->n > 0) {
        buf_puts(&b, ",\"errors\":[");
        for (int i = 0; i < fields->n; i++) {
            buf_puts(&b, i ? ",{\"field\":" : "{\"field\":");
            jsonx_quote(&b, fields->e[i].field);
            buf_printf(&b, ",\"code\":\"%s\",\"message\":", fields->e[i].code);
            jsonx_quote(&b, fields->e[i].message);
            buf_puts(&b, "}");
        }
        buf_puts(&b, "]");
    }
    if (extra_json != NULL && extra_json[0] == '{' && extra_json[1] != '}') {
        buf_puts(&b, ",");
        buf_append(&b, extra_json + 1, strlen(extra_json) - 2);
    }
    buf_puts(&b, "}");
    body = buf_take(&b, &len);
    resp_json(&req->resp, status, body, body ? len : 0);
    req->resp.content_type = "application/problem+json";
}

void
problem_sendf(struct req *req, int status, const char *code, const char *fmt, ...)
{
    char detail[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    problem_send(req, status, code, detail, NULL, NULL);
}
