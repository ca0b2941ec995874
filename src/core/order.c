/* SPDX-License-Identifier: MIT */
/*
 * order.c -- validation and rendering of the canonical order (order.h). Validation
 * walks the input once, collecting every field error with its dotted path, and builds
 * the canonical document as it goes, so what is stored is exactly what was checked.
 * Amount arithmetic is int64 with overflow checks; no floating point touches money.
 */
#include "core/order.h"

#include "core/clock.h"
#include "core/currency.h"
#include "core/ids.h"
#include "core/limits.h"
#include "core/validate.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum sflag {
    SF_WS = 1 << 0,      /* tab/CR/LF allowed */
    SF_EMAIL = 1 << 1,   /* e-mail address */
    SF_PHONE = 1 << 2,   /* E.164 */
    SF_COUNTRY = 1 << 3, /* ISO 3166-1 alpha-2 */
    SF_PAST = 1 << 4,    /* date not in the future */
    SF_URL = 1 << 5,     /* http(s) URL */
    SF_EAN13 = 1 << 6,   /* EAN-13 */
    SF_LOCALE = 1 << 7,  /* language tag */
};

/* The members every rendered order starts and ends with (render). */
static const char *const render_head[] = {"object",   "id",   "short_id",
                                          "livemode", "mode", "dialect"};
static const char *const render_tail[] = {"version", "created_at", "updated_at"};
#define N_HEAD (sizeof render_head / sizeof render_head[0])
#define N_TAIL (sizeof render_tail / sizeof render_tail[0])

static void
path_join(char *out, size_t size, const char *base, const char *key)
{
    snprintf(out, size, "%s%s%s", base, base[0] ? "." : "", key);
}

/* A field error at base.key: the path is only built when there is an error (formatting
 * it for every field checked was a tenth of a create's time). */
static void __attribute__((format(printf, 5, 6)))
field_err(struct problems *p, const char *base, const char *key, const char *code, const char *fmt,
          ...)
{
    char path[96], msg[sizeof p->e[0].message];
    va_list ap;

    path_join(path, sizeof path, base, key);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    problems_add(p, path, code, "%s", msg);
}

/* Reports keys of obj not in allowed (NULL-terminated). */
static void
check_unknown(struct problems *p, const struct jsonx *obj, const char *base,
              const char *const allowed[])
{
    char path[96];

    for (void *it = jsonx_iter(obj); it != NULL; it = jsonx_next(obj, it)) {
        const char *k = jsonx_iter_key(it);
        bool known = false;
        for (int i = 0; allowed[i] != NULL && !known; i++)
            known = strcmp(allowed[i], k) == 0;
        if (!known) {
            path_join(path, sizeof path, base, k);
            problems_add(p, path, "unknown_field", "unknown field");
        }
    }
}

/* Validates an optional or required string member. Returns the input's string (one more
 * reference: canonical and input documents share it), or a null when absent/invalid (the
 * error recorded). */
static struct jsonx *
v_string(struct problems *p, const struct jsonx *obj, const char *key, const char *base,
         bool required, size_t min, size_t max, unsigned flags)
{
    struct jsonx *v = jsonx_get(obj, key);
    const char *s;
    size_t n;
    bool ok = true;

    if (v == NULL || jsonx_type(v) == JX_NULL) {
        if (required)
            field_err(p, base, key, "required", "is required");
        return jsonx_null();
    }
    if (jsonx_type(v) != JX_STRING) {
        field_err(p, base, key, "invalid_type", "must be a string, not %s", jsonx_type_name(v));
        return jsonx_null();
    }
    s = jsonx_str(v);
    n = validate_utf8_len(s);
    if (n < min) {
        field_err(p, base, key, n == 0 && required ? "required" : "too_short",
                  "must be at least %zu characters", min);
        return jsonx_null();
    }
    if (n > max) {
        field_err(p, base, key, "too_long", "must be at most %zu characters", max);
        return jsonx_null();
    }
    if (!validate_text(s, jsonx_strlen(v), (flags & SF_WS) != 0)) {
        field_err(p, base, key, "invalid_value", "must not contain control characters");
        return jsonx_null();
    }
    if (flags & SF_EMAIL && !(ok = validate_email(s)))
        field_err(p, base, key, "invalid_email", "not a valid e-mail address");
    else if (flags & SF_PHONE && !(ok = validate_phone_e164(s)))
        field_err(p, base, key, "invalid_phone", "must be E.164: + and 2 to 15 digits");
    else if (flags & SF_COUNTRY && !(ok = validate_country(s)))
        field_err(p, base, key, "invalid_country", "must be an ISO 3166-1 alpha-2 code");
    else if (flags & SF_PAST && !(ok = validate_date(s, true)))
        field_err(p, base, key, "invalid_date", "must be a past date YYYY-MM-DD");
    else if (flags & SF_URL && !(ok = validate_url(s)))
        field_err(p, base, key, "invalid_url", "must be an http or https URL");
    else if (flags & SF_EAN13 && !(ok = validate_ean13(s)))
        field_err(p, base, key, "invalid_value", "must be 13 digits with a valid check digit");
    else if (flags & SF_LOCALE && !(ok = validate_locale(s)))
        field_err(p, base, key, "invalid_value", "must be a language tag such as fr-FR");
    return ok ? jsonx_ref(v) : jsonx_null();
}

/* Integer member in [min, max]; absent -> def (or an error when required). */
static bool
v_int(struct problems *p, const struct jsonx *obj, const char *key, const char *base, bool required,
      int64_t min, int64_t max, int64_t def, int64_t *out)
{
    const struct jsonx *v = jsonx_get(obj, key);

    *out = def;
    if (v == NULL || jsonx_type(v) == JX_NULL) {
        if (required)
            field_err(p, base, key, "required", "is required");
        return !required;
    }
    if (jsonx_type(v) != JX_INT) {
        field_err(p, base, key, "invalid_type", "must be an integer%s, not %s",
                  jsonx_type(v) == JX_REAL ? " (amounts are in minor units)" : "",
                  jsonx_type_name(v));
        return false;
    }
    if (jsonx_int(v) < min || jsonx_int(v) > max) {
        field_err(p, base, key, "out_of_range", "must be between %lld and %lld", (long long)min,
                  (long long)max);
        return false;
    }
    *out = jsonx_int(v);
    return true;
}

/* Optional object member: returns it (borrowed) or NULL; wrong type is an error. */
static const struct jsonx *
v_object(struct problems *p, const struct jsonx *obj, const char *key, const char *base,
         bool required)
{
    const struct jsonx *v = jsonx_get(obj, key);

    if (v == NULL || jsonx_type(v) == JX_NULL) {
        if (required)
            field_err(p, base, key, "required", "is required");
        return NULL;
    }
    if (jsonx_type(v) != JX_OBJECT) {
        field_err(p, base, key, "invalid_type", "must be an object, not %s", jsonx_type_name(v));
        return NULL;
    }
    return v;
}

/* metadata / custom: string values, bounded. Returns new object. */
static struct jsonx *
v_metadata(struct problems *p, const struct jsonx *obj, const char *key, const char *base)
{
    const struct jsonx *m = v_object(p, obj, key, base, false);
    struct jsonx *out = jsonx_object();
    char path[96];

    if (m == NULL)
        return out;
    path_join(path, sizeof path, base, key);
    if (jsonx_size(m) > LIMIT_META_KEYS) {
        problems_add(p, path, "too_many", "at most %d keys", LIMIT_META_KEYS);
        return out;
    }
    for (void *it = jsonx_iter(m); it != NULL; it = jsonx_next(m, it)) {
        const char *k = jsonx_iter_key(it);
        struct jsonx *v = jsonx_iter_value(it);
        size_t kl = validate_utf8_len(k);
        if (kl == 0 || kl > LIMIT_META_KEY_LEN || strpbrk(k, "[]") != NULL ||
            !validate_text(k, strlen(k), false)) {
            field_err(p, path, k, "invalid_value", "keys are 1 to %d characters without [ or ]",
                      LIMIT_META_KEY_LEN);
            continue;
        }
        if (jsonx_type(v) != JX_STRING) {
            field_err(p, path, k, "invalid_type", "values must be strings, not %s",
                      jsonx_type_name(v));
            continue;
        }
        if (validate_utf8_len(jsonx_str(v)) > LIMIT_META_VALUE_LEN) {
            field_err(p, path, k, "too_long", "must be at most %d characters",
                      LIMIT_META_VALUE_LEN);
            continue;
        }
        if (!validate_text(jsonx_str(v), jsonx_strlen(v), true)) {
            field_err(p, path, k, "invalid_value", "must not contain control characters");
            continue;
        }
        jsonx_set(out, k, jsonx_ref(v));
    }
    return out;
}

static struct jsonx *
v_address(struct problems *p, const struct jsonx *obj, const char *key, const char *base,
          bool with_name)
{
    static const char *const allowed_named[] = {"name",  "line1",   "line2", "city", "postal_code",
                                                "state", "country", "phone", NULL};
    static const char *const allowed_plain[] = {"line1", "line2",   "city", "postal_code",
                                                "state", "country", NULL};
    const struct jsonx *a = v_object(p, obj, key, base, false);
    struct jsonx *out;
    char path[96];

    if (a == NULL)
        return jsonx_null();
    path_join(path, sizeof path, base, key);
    check_unknown(p, a, path, with_name ? allowed_named : allowed_plain);
    out = jsonx_object();
    if (with_name)
        jsonx_set(out, "name", v_string(p, a, "name", path, false, 0, LIMIT_STR_NAME, 0));
    jsonx_set(out, "line1", v_string(p, a, "line1", path, true, 1, LIMIT_STR_NAME, 0));
    jsonx_set(out, "line2", v_string(p, a, "line2", path, false, 0, LIMIT_STR_NAME, 0));
    jsonx_set(out, "city", v_string(p, a, "city", path, true, 1, LIMIT_STR_NAME, 0));
    jsonx_set(out, "postal_code",
              v_string(p, a, "postal_code", path, false, 0, LIMIT_POSTAL_LEN, 0));
    jsonx_set(out, "state", v_string(p, a, "state", path, false, 0, LIMIT_STR_NAME, 0));
    jsonx_set(out, "country", v_string(p, a, "country", path, true, 1, LIMIT_STR_NAME, SF_COUNTRY));
    if (with_name)
        jsonx_set(out, "phone", v_string(p, a, "phone", path, false, 0, LIMIT_STR_NAME, SF_PHONE));
    return out;
}

static struct jsonx *
v_customer(struct problems *p, const struct jsonx *obj, const char *base)
{
    static const char *const allowed[] = {"id",       "first_name", "last_name", "email", "phone",
                                          "birthday", "gender",     "address",   NULL};
    const struct jsonx *c = v_object(p, obj, "customer", base, false);
    struct jsonx *out;
    char path[96];

    if (c == NULL)
        return jsonx_null();
    path_join(path, sizeof path, base, "customer");
    check_unknown(p, c, path, allowed);
    out = jsonx_object();
    jsonx_set(out, "id", v_string(p, c, "id", path, false, 0, LIMIT_STR_NAME, 0));
    jsonx_set(out, "first_name", v_string(p, c, "first_name", path, false, 0, LIMIT_STR_NAME, 0));
    jsonx_set(out, "last_name", v_string(p, c, "last_name", path, false, 0, LIMIT_STR_NAME, 0));
    jsonx_set(out, "email", v_string(p, c, "email", path, false, 0, LIMIT_EMAIL_LEN, SF_EMAIL));
    jsonx_set(out, "phone", v_string(p, c, "phone", path, false, 0, LIMIT_STR_NAME, SF_PHONE));
    jsonx_set(out, "birthday", v_string(p, c, "birthday", path, false, 0, LIMIT_STR_NAME, SF_PAST));
    jsonx_set(out, "gender", v_string(p, c, "gender", path, false, 0, LIMIT_GENDER_LEN, 0));
    jsonx_set(out, "address", v_address(p, c, "address", path, false));
    return out;
}

static struct jsonx *
v_line_items(struct problems *p, const struct jsonx *in, int64_t *subtotal)
{
    static const char *const allowed[] = {"external_id", "name",       "sku",    "ean13",
                                          "quantity",    "unit_price", "brand",  "category",
                                          "supplier",    "image_url",  "custom", NULL};
    const struct jsonx *items = jsonx_get(in, "line_items");
    struct jsonx *out = jsonx_array();
    char path[96];
    size_t n;

    *subtotal = 0;
    if (items == NULL || jsonx_type(items) == JX_NULL) {
        problems_add(p, "line_items", "required", "is required");
        return out;
    }
    if (jsonx_type(items) != JX_ARRAY) {
        problems_add(p, "line_items", "invalid_type", "must be an array, not %s",
                     jsonx_type_name(items));
        return out;
    }
    n = jsonx_size(items);
    if (n == 0 || n > LIMIT_LINE_ITEMS) {
        problems_add(p, "line_items", n == 0 ? "too_short" : "too_many", "must have 1 to %d items",
                     LIMIT_LINE_ITEMS);
        return out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct jsonx *li = jsonx_at(items, i);
        struct jsonx *o;
        int64_t qty = 0, price = 0, amount = 0;
        bool ok;

        snprintf(path, sizeof path, "line_items[%zu]", i);
        if (jsonx_type(li) != JX_OBJECT) {
            problems_add(p, path, "invalid_type", "must be an object, not %s", jsonx_type_name(li));
            continue;
        }
        check_unknown(p, li, path, allowed);
        o = jsonx_object();
        jsonx_set(o, "external_id",
                  v_string(p, li, "external_id", path, false, 0, LIMIT_STR_NAME, 0));
        jsonx_set(o, "name", v_string(p, li, "name", path, true, 1, LIMIT_STR_TEXT, 0));
        jsonx_set(o, "sku", v_string(p, li, "sku", path, false, 0, LIMIT_STR_NAME, 0));
        jsonx_set(o, "ean13", v_string(p, li, "ean13", path, false, 0, LIMIT_STR_NAME, SF_EAN13));
        ok = v_int(p, li, "quantity", path, true, 1, LIMIT_QUANTITY_MAX, 0, &qty);
        ok &= v_int(p, li, "unit_price", path, true, 0, LIMIT_AMOUNT_MAX, 0, &price);
        /* both bounded: qty * price <= 10^19 may overflow int64; check */
        if (ok && __builtin_mul_overflow(qty, price, &amount)) {
            problems_add(p, path, "out_of_range", "quantity x unit_price is too large");
            amount = 0;
        }
        if (__builtin_add_overflow(*subtotal, amount, subtotal)) {
            problems_add(p, "line_items", "out_of_range", "the subtotal is too large");
            *subtotal = 0;
        }
        jsonx_set_int(o, "quantity", qty);
        jsonx_set_int(o, "unit_price", price);
        jsonx_set_int(o, "amount", amount);
        jsonx_set(o, "brand", v_string(p, li, "brand", path, false, 0, LIMIT_STR_NAME, 0));
        jsonx_set(o, "category", v_string(p, li, "category", path, false, 0, LIMIT_STR_NAME, 0));
        jsonx_set(o, "supplier", v_string(p, li, "supplier", path, false, 0, LIMIT_STR_NAME, 0));
        jsonx_set(o, "image_url",
                  v_string(p, li, "image_url", path, false, 0, LIMIT_URL_LEN, SF_URL));
        jsonx_set(o, "custom", v_metadata(p, li, "custom", path));
        jsonx_append(out, o);
    }
    return out;
}

static void
str_lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

int
order_validate_create(const struct jsonx *in, struct problems *p, struct jsonx **out,
                      struct order_row *row)
{
    static const char *const allowed[] = {
        "external_id",      "currency",        "status",       "customer",
        "shipping_address", "billing_address", "line_items",   "shipping_amount",
        "discount_amount",  "tax_amount",      "total_amount", "metadata",
        "platform",         "source",          "locale",       NULL};
    struct jsonx *o = jsonx_object(), *v;
    int64_t subtotal, shipping, discount, tax, total, claimed;
    bool amounts_ok;
    const struct jsonx *cur;
    char code[4] = "";
    const char *status = "pending";
    int n_before = p->n;

    for (size_t i = 0; i < N_HEAD; i++) /* their places in the rendered order (render) */
        jsonx_set_null(o, render_head[i]);
    check_unknown(p, in, "", allowed);
    v = v_string(p, in, "external_id", "", false, 1, LIMIT_STR_NAME, 0);
    jsonx_set(o, "external_id", v);
    cur = jsonx_get(in, "currency");
    if (cur == NULL || jsonx_type(cur) == JX_NULL) {
        problems_add(p, "currency", "required", "is required");
    } else if (jsonx_type(cur) != JX_STRING) {
        problems_add(p, "currency", "invalid_type", "must be a string, not %s",
                     jsonx_type_name(cur));
    } else if (jsonx_strlen(cur) != 3) {
        problems_add(p, "currency", "invalid_currency", "must be an ISO 4217 code");
    } else {
        for (int i = 0; i < 3; i++)
            code[i] = (char)toupper((unsigned char)jsonx_str(cur)[i]);
        code[3] = '\0';
        if (currency_exponent(code) < 0)
            problems_add(p, "currency", "invalid_currency", "must be an ISO 4217 code");
    }
    cur = jsonx_get(in, "status");
    if (cur != NULL && jsonx_type(cur) != JX_NULL) {
        if (jsonx_type(cur) != JX_STRING ||
            (strcmp(jsonx_str(cur), "pending") != 0 && strcmp(jsonx_str(cur), "confirmed") != 0))
            problems_add(p, "status", "invalid_status", "must be pending or confirmed");
        else
            status = jsonx_str(cur);
    }
    jsonx_set_str(o, "status", status);
    jsonx_set_str(o, "currency", code);
    v = v_line_items(p, in, &subtotal);
    amounts_ok = v_int(p, in, "shipping_amount", "", false, 0, LIMIT_AMOUNT_MAX, 0, &shipping);
    amounts_ok &= v_int(p, in, "discount_amount", "", false, 0, LIMIT_AMOUNT_MAX, 0, &discount);
    amounts_ok &= v_int(p, in, "tax_amount", "", false, 0, LIMIT_AMOUNT_MAX, 0, &tax);
    total = 0;
    if (subtotal > INT64_MAX - 2 * LIMIT_AMOUNT_MAX) {
        problems_add(p, "line_items", "out_of_range", "the subtotal is too large");
    } else if (amounts_ok) {
        /* every term is bounded: subtotal + shipping + tax cannot overflow */
        total = subtotal + shipping + tax - discount;
        if (total < 0)
            problems_add(p, "discount_amount", "out_of_range", "the total would be negative");
        else if (v_int(p, in, "total_amount", "", false, 0, INT64_MAX, total, &claimed) &&
                 claimed != total)
            problems_add(p, "total_amount", "total_mismatch",
                         "is %lld but the lines, shipping, tax and discount give %lld",
                         (long long)claimed, (long long)total);
    }
    jsonx_set_int(o, "subtotal_amount", subtotal);
    jsonx_set_int(o, "shipping_amount", shipping);
    jsonx_set_int(o, "discount_amount", discount);
    jsonx_set_int(o, "tax_amount", tax);
    jsonx_set_int(o, "total_amount", total);
    jsonx_set(o, "customer", v_customer(p, in, ""));
    jsonx_set(o, "shipping_address", v_address(p, in, "shipping_address", "", true));
    jsonx_set(o, "billing_address", v_address(p, in, "billing_address", "", true));
    jsonx_set(o, "line_items", v);
    jsonx_set(o, "metadata", v_metadata(p, in, "metadata", ""));
    jsonx_set(o, "platform", v_string(p, in, "platform", "", false, 0, LIMIT_STR_SHORT, 0));
    jsonx_set(o, "source", v_string(p, in, "source", "", false, 0, LIMIT_STR_SHORT, 0));
    jsonx_set(o, "locale", v_string(p, in, "locale", "", false, 0, LIMIT_LOCALE_LEN, SF_LOCALE));

    if (p->n > n_before || p->dropped) {
        jsonx_free(o);
        *out = NULL;
        return -1;
    }
    memset(row, 0, sizeof *row);
    snprintf(row->currency, sizeof row->currency, "%s", code);
    snprintf(row->status, sizeof row->status, "%s", status);
    row->total_amount = total;
    v = jsonx_get(o, "external_id");
    row->external_id = jsonx_type(v) == JX_STRING ? strdup(jsonx_str(v)) : NULL;
    cur = jsonx_get(o, "customer");
    v = cur != NULL && jsonx_type(cur) == JX_OBJECT ? jsonx_get(cur, "email") : NULL;
    if (v != NULL && jsonx_type(v) == JX_STRING) {
        row->customer_email = strdup(jsonx_str(v));
        if (row->customer_email != NULL)
            str_lower(row->customer_email);
    }
    *out = o;
    return 0;
}

/* Whether doc's members are already in rendered order: the identity members first, and
 * the three times either absent or last (a stored order, or a new canonical document,
 * whose first members order_validate_create reserves). Then render sets them in place
 * instead of copying every member into a new object. */
static bool
render_in_place(const struct jsonx *doc)
{
    size_t n = jsonx_size(doc), i = 0, tail = 0;

    for (void *it = jsonx_iter(doc); it != NULL; it = jsonx_next(doc, it), i++) {
        const char *k = jsonx_iter_key(it);
        if (i < N_HEAD) {
            if (strcmp(k, render_head[i]) != 0)
                return false;
            continue;
        }
        for (size_t t = 0; t < N_TAIL; t++)
            if (strcmp(k, render_tail[t]) == 0 && (t != tail++ || i != n - N_TAIL + t))
                return false;
    }
    return i >= N_HEAD;
}

/* Renders row->body from canon with the identity fields first and the times last. */
static int
render(struct jsonx *canon, struct order_row *row)
{
    bool in_place = render_in_place(canon);
    struct jsonx *doc = in_place ? jsonx_ref(canon) : jsonx_object();
    char ts[CLOCK_RFC3339_LEN];
    size_t len = 0;
    bool skip;

    jsonx_set_str(doc, "object", "order");
    jsonx_set_str(doc, "id", row->id);
    jsonx_set_str(doc, "short_id", row->short_id);
    jsonx_set_bool(doc, "livemode", row->mode == MODE_LIVE);
    jsonx_set_str(doc, "mode", ids_mode_name(row->mode));
    jsonx_set_str(doc, "dialect", row->dialect);
    for (void *it = in_place ? NULL : jsonx_iter(canon); it != NULL; it = jsonx_next(canon, it)) {
        const char *k = jsonx_iter_key(it);
        skip = false;
        for (size_t i = 0; i < N_HEAD && !skip; i++)
            skip = strcmp(k, render_head[i]) == 0;
        for (size_t i = 0; i < N_TAIL && !skip; i++)
            skip = strcmp(k, render_tail[i]) == 0;
        if (!skip)
            jsonx_set(doc, k, jsonx_ref(jsonx_iter_value(it)));
    }
    jsonx_set_int(doc, "version", row->version);
    clock_format_ms(row->created_ms, ts);
    jsonx_set_str(doc, "created_at", ts);
    clock_format_ms(row->updated_ms, ts);
    jsonx_set_str(doc, "updated_at", ts);
    free(row->body);
    row->body = jsonx_dump(doc, &len);
    row->body_len = len;
    jsonx_free(doc);
    return row->body != NULL ? 0 : -1;
}

int
order_finalize_new(struct jsonx *canon, struct order_row *row, const char *org_id,
                   enum key_mode mode, const char *dialect, int64_t now_ms)
{
    ids_uuid7(now_ms, row->id);
    ids_short(row->short_id);
    snprintf(row->org_id, sizeof row->org_id, "%s", org_id);
    row->mode = mode;
    snprintf(row->dialect, sizeof row->dialect, "%s", dialect);
    row->version = 1;
    row->created_ms = row->updated_ms = now_ms;
    if (jsonx_get(canon, "canceled_at") == NULL)
        jsonx_set_null(canon, "canceled_at");
    if (jsonx_get(canon, "cancellation_reason") == NULL)
        jsonx_set_null(canon, "cancellation_reason");
    return render(canon, row);
}

int
order_reshort(struct order_row *row)
{
    struct jsonx_error err;
    struct jsonx *doc = jsonx_parse(row->body, row->body_len, 64, &err);
    int rc;

    if (doc == NULL)
        return -1;
    ids_short(row->short_id);
    rc = render(doc, row);
    jsonx_free(doc);
    return rc;
}

bool
order_status_valid(const char *s)
{
    return strcmp(s, "pending") == 0 || strcmp(s, "confirmed") == 0 ||
           strcmp(s, "fulfilled") == 0 || strcmp(s, "canceled") == 0;
}

bool
order_transition_ok(const char *from, const char *to)
{
    static const char *const allowed[][2] = {
        {"pending", "confirmed"},  {"pending", "canceled"},   {"confirmed", "fulfilled"},
        {"confirmed", "canceled"}, {"canceled", "confirmed"},
    };

    if (strcmp(from, to) == 0)
        return true;
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (strcmp(allowed[i][0], from) == 0 && strcmp(allowed[i][1], to) == 0)
            return true;
    return false;
}

int
order_validate_patch(const struct jsonx *patch, struct problems *p)
{
    static const char *const updatable[] = {
        "status",   "customer", "shipping_address", "billing_address", "metadata",
        "platform", "source",   "locale",           "version",         NULL};
    const struct jsonx *v;
    struct jsonx *tmp;
    int n_before = p->n;
    int64_t ver;

    for (void *it = jsonx_iter(patch); it != NULL; it = jsonx_next(patch, it)) {
        const char *k = jsonx_iter_key(it);
        bool ok = false;
        for (int i = 0; updatable[i] != NULL && !ok; i++)
            ok = strcmp(updatable[i], k) == 0;
        if (!ok)
            problems_add(p, k, "not_updatable", "cannot be changed with PATCH");
    }
    v = jsonx_get(patch, "status");
    if (v != NULL && (jsonx_type(v) != JX_STRING || !order_status_valid(jsonx_str(v))))
        problems_add(p, "status", "invalid_status",
                     "must be pending, confirmed, fulfilled or canceled");
    /* the same rules as on create, results discarded */
    jsonx_free(v_customer(p, patch, ""));
    jsonx_free(v_address(p, patch, "shipping_address", "", true));
    jsonx_free(v_address(p, patch, "billing_address", "", true));
    v = jsonx_get(patch, "metadata");
    if (v != NULL && jsonx_type(v) == JX_OBJECT) {
        /* null values delete keys: validate the others */
        tmp = jsonx_object();
        for (void *it = jsonx_iter(v); it != NULL; it = jsonx_next(v, it))
            if (jsonx_type(jsonx_iter_value(it)) != JX_NULL)
                jsonx_set(tmp, jsonx_iter_key(it), jsonx_ref(jsonx_iter_value(it)));
        {
            struct jsonx *wrap = jsonx_object();
            jsonx_set(wrap, "metadata", tmp);
            jsonx_free(v_metadata(p, wrap, "metadata", ""));
            jsonx_free(wrap);
        }
    } else if (v != NULL && jsonx_type(v) != JX_NULL) {
        problems_add(p, "metadata", "invalid_type", "must be an object or null");
    }
    jsonx_free(v_string(p, patch, "platform", "", false, 0, LIMIT_STR_SHORT, 0));
    jsonx_free(v_string(p, patch, "source", "", false, 0, LIMIT_STR_SHORT, 0));
    jsonx_free(v_string(p, patch, "locale", "", false, 0, LIMIT_LOCALE_LEN, SF_LOCALE));
    v_int(p, patch, "version", "", false, 1, INT64_MAX, 0, &ver);
    return p->n > n_before || p->dropped ? -1 : 0;
}

struct jsonx *
order_doc(const struct order_row *row)
{
    struct jsonx_error err;

    return jsonx_parse(row->body, row->body_len, 64, &err);
}

int
order_commit_doc(struct jsonx *doc, struct order_row *next, int64_t now_ms)
{
    const struct jsonx *st = jsonx_get(doc, "status"), *c = jsonx_get(doc, "customer"), *e;
    const struct jsonx *cur = jsonx_get(doc, "currency"), *tot = jsonx_get(doc, "total_amount");

    snprintf(next->status, sizeof next->status, "%s", jsonx_str(st) ? jsonx_str(st) : "");
    if (cur != NULL && jsonx_type(cur) == JX_STRING)
        snprintf(next->currency, sizeof next->currency, "%s", jsonx_str(cur));
    if (tot != NULL && jsonx_type(tot) == JX_INT)
        next->total_amount = jsonx_int(tot);
    free(next->customer_email);
    next->customer_email = NULL;
    e = c != NULL && jsonx_type(c) == JX_OBJECT ? jsonx_get(c, "email") : NULL;
    if (e != NULL && jsonx_type(e) == JX_STRING) {
        next->customer_email = strdup(jsonx_str(e));
        if (next->customer_email == NULL)
            return -2;
        str_lower(next->customer_email);
    }
    next->version++;
    next->updated_ms = now_ms > next->updated_ms ? now_ms : next->updated_ms;
    return render(doc, next) == 0 ? 1 : -2;
}

int
order_apply_patch(const struct order_row *cur, const struct jsonx *patch, struct order_row *next,
                  int64_t now_ms, const char **event_type)
{
    static const char *const replace[] = {"platform", "source", "locale", NULL};
    struct jsonx *doc = order_doc(cur), *orig = NULL, *nv;
    const struct jsonx *v;
    struct problems scratch = {0};
    int rc = -2;

    *event_type = "order.updated";
    if (doc == NULL)
        goto out;
    orig = jsonx_copy(doc);
    v = jsonx_get(patch, "status");
    if (v != NULL) {
        if (!order_transition_ok(cur->status, jsonx_str(v))) {
            rc = -1;
            goto out;
        }
        if (strcmp(cur->status, jsonx_str(v)) != 0) {
            char ts[CLOCK_RFC3339_LEN];
            jsonx_set_str(doc, "status", jsonx_str(v));
            if (strcmp(jsonx_str(v), "canceled") == 0) {
                *event_type = "order.canceled";
                clock_format_ms(now_ms, ts);
                jsonx_set_str(doc, "canceled_at", ts);
            } else {
                jsonx_set_null(doc, "canceled_at");
                jsonx_set_null(doc, "cancellation_reason");
            }
        }
    }
    if (jsonx_get(patch, "customer") != NULL)
        jsonx_set(doc, "customer", v_customer(&scratch, patch, ""));
    if (jsonx_get(patch, "shipping_address") != NULL)
        jsonx_set(doc, "shipping_address",
                  v_address(&scratch, patch, "shipping_address", "", true));
    if (jsonx_get(patch, "billing_address") != NULL)
        jsonx_set(doc, "billing_address", v_address(&scratch, patch, "billing_address", "", true));
    for (int i = 0; replace[i] != NULL; i++)
        if (jsonx_get(patch, replace[i]) != NULL)
            jsonx_set(doc, replace[i], jsonx_copy(jsonx_get(patch, replace[i])));
    v = jsonx_get(patch, "metadata");
    if (v != NULL) {
        nv = jsonx_type(v) == JX_NULL ? jsonx_object() : jsonx_copy(jsonx_get(doc, "metadata"));
        if (jsonx_type(v) == JX_OBJECT) {
            for (void *it = jsonx_iter(v); it != NULL; it = jsonx_next(v, it)) {
                if (jsonx_type(jsonx_iter_value(it)) == JX_NULL)
                    jsonx_del(nv, jsonx_iter_key(it));
                else
                    jsonx_set(nv, jsonx_iter_key(it), jsonx_ref(jsonx_iter_value(it)));
            }
        }
        jsonx_set(doc, "metadata", nv);
    }
    rc = jsonx_equal(doc, orig) ? 0 : order_commit_doc(doc, next, now_ms);
out:
    jsonx_free(doc);
    jsonx_free(orig);
    return rc;
}

int
order_cancel(const struct order_row *cur, const char *reason, struct order_row *next,
             int64_t now_ms)
{
    struct jsonx *doc;
    char ts[CLOCK_RFC3339_LEN];
    int rc;

    if (strcmp(cur->status, "canceled") == 0)
        return 0;
    if (!order_transition_ok(cur->status, "canceled"))
        return -1;
    doc = order_doc(cur);
    if (doc == NULL)
        return -2;
    jsonx_set_str(doc, "status", "canceled");
    clock_format_ms(now_ms, ts);
    jsonx_set_str(doc, "canceled_at", ts);
    jsonx_set_str(doc, "cancellation_reason", reason);
    rc = order_commit_doc(doc, next, now_ms);
    jsonx_free(doc);
    return rc;
}
