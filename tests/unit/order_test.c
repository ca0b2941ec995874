/* SPDX-License-Identifier: MIT */
/* Unit tests for order.h: create validation (every rule of docs/api-v1.md with its field
 * path and code), finalisation, the status machine, PATCH and cancel. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/jsonx.h"
#include "core/order.h"
#include "core/problem.h"
#include "store/store.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define NOW_MS INT64_C(1795442400123) /* 2026-11-23T14:00:00.123Z */

static const char full_order[] =
    "{"
    "\"external_id\":\"ORD-1001\","
    "\"currency\":\"eur\","
    "\"customer\":{\"id\":\"c-77\",\"first_name\":\"Ada\",\"last_name\":\"Lovelace\","
    "  \"email\":\"Ada.Lovelace@Example.COM\",\"phone\":\"+33612345678\","
    "  \"birthday\":\"1990-12-10\",\"gender\":\"female\","
    "  \"address\":{\"line1\":\"1 rue de la Paix\",\"line2\":null,\"city\":\"Paris\","
    "    \"postal_code\":\"75002\",\"state\":null,\"country\":\"FR\"}},"
    "\"shipping_address\":{\"name\":\"Ada Lovelace\",\"line1\":\"1 rue de la Paix\","
    "  \"line2\":\"B\\u00e2t. B\",\"city\":\"Paris\",\"postal_code\":\"75002\","
    "  \"state\":\"IDF\",\"country\":\"FR\",\"phone\":\"+33612345678\"},"
    "\"billing_address\":{\"name\":\"Charles Babbage\",\"line1\":\"10 Downing St\","
    "  \"city\":\"London\",\"postal_code\":\"SW1A 2AA\",\"country\":\"GB\"},"
    "\"line_items\":["
    "  {\"external_id\":\"L1\",\"name\":\"Tea pot\",\"sku\":\"TP-1\","
    "   \"ean13\":\"4006381333931\",\"quantity\":2,\"unit_price\":4295,\"brand\":\"Acme\","
    "   \"category\":\"Kitchen\",\"supplier\":\"Acme SA\","
    "   \"image_url\":\"https://cdn.example.com/tp.png\",\"custom\":{\"color\":\"blue\","
    "   \"engraving\":\"line 1\\nline 2\"}},"
    "  {\"name\":\"Cup\",\"quantity\":3,\"unit_price\":500}"
    "],"
    "\"shipping_amount\":495,\"discount_amount\":100,\"tax_amount\":200,"
    "\"total_amount\":10685,"
    "\"metadata\":{\"cart_id\":\"abc\",\"note\":\"leave at\\tdoor\"},"
    "\"platform\":\"woocommerce\",\"source\":\"web\",\"locale\":\"fr-FR\""
    "}";

static const char minimal_order[] =
    "{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"Tea pot\",\"quantity\":2,"
    "\"unit_price\":4295}]}";

/* ---- helpers ------------------------------------------------------------------------ */

static struct jsonx *
parse(const char *s)
{
    struct jsonx_error err;
    struct jsonx *v = jsonx_parse(s, strlen(s), 32, &err);

    if (v == NULL)
        fail_msg("test JSON does not parse (%d:%d): %s", err.line, err.column, err.text);
    return v;
}

static const struct jsonx *
path_get(const struct jsonx *doc, const char *a, const char *b)
{
    const struct jsonx *v = jsonx_get(doc, a);

    assert_non_null(v);
    if (b != NULL) {
        v = jsonx_get(v, b);
        assert_non_null(v);
    }
    return v;
}

static int64_t
get_int(const struct jsonx *doc, const char *key)
{
    const struct jsonx *v = path_get(doc, key, NULL);

    assert_int_equal(jsonx_type(v), JX_INT);
    return jsonx_int(v);
}

static const char *
get_str(const struct jsonx *doc, const char *key)
{
    const struct jsonx *v = path_get(doc, key, NULL);

    if (jsonx_type(v) != JX_STRING)
        fail_msg("%s is %s, not a string", key, jsonx_type_name(v));
    return jsonx_str(v);
}

static void
assert_null_member(const struct jsonx *doc, const char *key)
{
    const struct jsonx *v = jsonx_get(doc, key);

    if (v == NULL || jsonx_type(v) != JX_NULL)
        fail_msg("%s should be present and null", key);
}

static void
dump_problems(const struct problems *p)
{
    for (int i = 0; i < p->n; i++)
        print_message("  [%d] %s %s: %s\n", i, p->e[i].field, p->e[i].code, p->e[i].message);
}

static bool
has_error(const struct problems *p, const char *field, const char *code)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->e[i].field, field) == 0 && strcmp(p->e[i].code, code) == 0)
            return true;
    return false;
}

/* Validates doc and expects exactly one field error (field, code). */
static void
expect_one_error_doc(const struct jsonx *in, const char *field, const char *code)
{
    struct problems p = {0};
    struct order_row row = {0};
    struct jsonx *out = (struct jsonx *)&p; /* must be reset to NULL */

    assert_int_equal(order_validate_create(in, &p, &out, &row), -1);
    assert_null(out);
    if (p.n != 1 || !has_error(&p, field, code)) {
        dump_problems(&p);
        fail_msg("expected exactly one error %s %s, got %d", field, code, p.n);
    }
    assert_int_equal(p.dropped, 0);
    assert_true(p.e[0].message[0] != '\0');
    order_row_free(&row);
}

static void
expect_one_error(const char *json, const char *field, const char *code)
{
    struct jsonx *in = parse(json);

    expect_one_error_doc(in, field, code);
    jsonx_free(in);
}

/* Validates doc and expects success; *out and row must be freed by the caller. */
static struct jsonx *
expect_valid_doc(const struct jsonx *in, struct order_row *row)
{
    struct problems p = {0};
    struct jsonx *out = NULL;

    if (order_validate_create(in, &p, &out, row) != 0) {
        dump_problems(&p);
        fail_msg("expected a valid order, got %d errors", p.n);
    }
    assert_int_equal(p.n, 0);
    assert_non_null(out);
    return out;
}

static struct jsonx *
expect_valid(const char *json, struct order_row *row)
{
    struct jsonx *in = parse(json), *out = expect_valid_doc(in, row);

    jsonx_free(in);
    return out;
}

/* ---- valid orders -------------------------------------------------------------------- */

static void
test_create_full_order(void **state)
{
    struct order_row row;
    struct jsonx *o;
    const struct jsonx *items, *li, *c, *a;

    (void)state;
    memset(&row, 0x5a, sizeof row);
    o = expect_valid(full_order, &row);

    /* scalar columns */
    assert_string_equal(row.currency, "EUR");
    assert_string_equal(row.status, "pending");
    assert_int_equal(row.total_amount, 10685);
    assert_non_null(row.external_id);
    assert_string_equal(row.external_id, "ORD-1001");
    assert_non_null(row.customer_email);
    assert_string_equal(row.customer_email, "ada.lovelace@example.com");
    assert_null(row.body);

    /* canonical document: amounts computed */
    assert_int_equal(jsonx_type(o), JX_OBJECT);
    assert_string_equal(get_str(o, "currency"), "EUR");
    assert_string_equal(get_str(o, "status"), "pending");
    assert_string_equal(get_str(o, "external_id"), "ORD-1001");
    assert_int_equal(get_int(o, "subtotal_amount"), 2 * 4295 + 3 * 500);
    assert_int_equal(get_int(o, "shipping_amount"), 495);
    assert_int_equal(get_int(o, "discount_amount"), 100);
    assert_int_equal(get_int(o, "tax_amount"), 200);
    assert_int_equal(get_int(o, "total_amount"), 10090 + 495 + 200 - 100);

    items = path_get(o, "line_items", NULL);
    assert_int_equal(jsonx_type(items), JX_ARRAY);
    assert_int_equal(jsonx_size(items), 2);
    li = jsonx_at(items, 0);
    assert_string_equal(get_str(li, "external_id"), "L1");
    assert_string_equal(get_str(li, "name"), "Tea pot");
    assert_string_equal(get_str(li, "sku"), "TP-1");
    assert_string_equal(get_str(li, "ean13"), "4006381333931");
    assert_int_equal(get_int(li, "quantity"), 2);
    assert_int_equal(get_int(li, "unit_price"), 4295);
    assert_int_equal(get_int(li, "amount"), 8590);
    assert_string_equal(get_str(li, "brand"), "Acme");
    assert_string_equal(get_str(li, "category"), "Kitchen");
    assert_string_equal(get_str(li, "supplier"), "Acme SA");
    assert_string_equal(get_str(li, "image_url"), "https://cdn.example.com/tp.png");
    assert_string_equal(jsonx_str(path_get(li, "custom", "color")), "blue");
    assert_string_equal(jsonx_str(path_get(li, "custom", "engraving")), "line 1\nline 2");
    li = jsonx_at(items, 1);
    assert_int_equal(get_int(li, "amount"), 1500);
    /* absent optional line fields come back as null, custom as {} */
    assert_null_member(li, "external_id");
    assert_null_member(li, "sku");
    assert_null_member(li, "ean13");
    assert_null_member(li, "brand");
    assert_null_member(li, "category");
    assert_null_member(li, "supplier");
    assert_null_member(li, "image_url");
    assert_int_equal(jsonx_type(path_get(li, "custom", NULL)), JX_OBJECT);
    assert_int_equal(jsonx_size(path_get(li, "custom", NULL)), 0);

    c = path_get(o, "customer", NULL);
    assert_string_equal(get_str(c, "id"), "c-77");
    assert_string_equal(get_str(c, "first_name"), "Ada");
    assert_string_equal(get_str(c, "last_name"), "Lovelace");
    assert_string_equal(get_str(c, "phone"), "+33612345678");
    assert_string_equal(get_str(c, "birthday"), "1990-12-10");
    assert_string_equal(get_str(c, "gender"), "female");
    assert_string_equal(get_str(c, "email"), "Ada.Lovelace@Example.COM");
    a = path_get(c, "address", NULL);
    assert_string_equal(get_str(a, "line1"), "1 rue de la Paix");
    assert_null_member(a, "line2");
    assert_string_equal(get_str(a, "city"), "Paris");
    assert_string_equal(get_str(a, "postal_code"), "75002");
    assert_null_member(a, "state");
    assert_string_equal(get_str(a, "country"), "FR");
    assert_null(jsonx_get(a, "name")); /* customer address has no name/phone */

    a = path_get(o, "shipping_address", NULL);
    assert_string_equal(get_str(a, "name"), "Ada Lovelace");
    assert_string_equal(get_str(a, "line2"), "B\xc3\xa2t. B");
    assert_string_equal(get_str(a, "state"), "IDF");
    assert_string_equal(get_str(a, "country"), "FR");
    assert_string_equal(get_str(a, "phone"), "+33612345678");
    a = path_get(o, "billing_address", NULL);
    assert_string_equal(get_str(a, "name"), "Charles Babbage");
    assert_string_equal(get_str(a, "country"), "GB");
    assert_null_member(a, "line2");
    assert_null_member(a, "state");
    assert_null_member(a, "phone");

    assert_string_equal(jsonx_str(path_get(o, "metadata", "cart_id")), "abc");
    assert_string_equal(jsonx_str(path_get(o, "metadata", "note")), "leave at\tdoor");
    assert_string_equal(get_str(o, "platform"), "woocommerce");
    assert_string_equal(get_str(o, "source"), "web");
    assert_string_equal(get_str(o, "locale"), "fr-FR");

    /* no identity yet: its members are reserved (null) at the front, for render */
    assert_non_null(jsonx_get(o, "id"));
    assert_int_equal(jsonx_type(jsonx_get(o, "id")), JX_NULL);
    assert_string_equal(jsonx_iter_key(jsonx_iter(o)), "object");
    assert_null(jsonx_get(o, "version"));
    assert_null(jsonx_get(o, "created_at"));

    jsonx_free(o);
    order_row_free(&row);
}

static void
test_create_minimal_order_defaults(void **state)
{
    struct order_row row;
    struct jsonx *o;

    (void)state;
    o = expect_valid("{\"currency\":\"jpy\",\"line_items\":[{\"name\":\"Tea\","
                     "\"quantity\":3,\"unit_price\":1500}]}",
                     &row);
    assert_string_equal(row.currency, "JPY");
    assert_string_equal(row.status, "pending");
    assert_int_equal(row.total_amount, 4500);
    assert_null(row.external_id);
    assert_null(row.customer_email);

    assert_string_equal(get_str(o, "currency"), "JPY");
    assert_int_equal(get_int(o, "subtotal_amount"), 4500);
    assert_int_equal(get_int(o, "shipping_amount"), 0);
    assert_int_equal(get_int(o, "discount_amount"), 0);
    assert_int_equal(get_int(o, "tax_amount"), 0);
    assert_int_equal(get_int(o, "total_amount"), 4500);
    assert_null_member(o, "external_id");
    assert_null_member(o, "customer");
    assert_null_member(o, "shipping_address");
    assert_null_member(o, "billing_address");
    assert_null_member(o, "platform");
    assert_null_member(o, "source");
    assert_null_member(o, "locale");
    assert_int_equal(jsonx_type(path_get(o, "metadata", NULL)), JX_OBJECT);
    assert_int_equal(jsonx_size(path_get(o, "metadata", NULL)), 0);
    jsonx_free(o);
    order_row_free(&row);
}

static void
test_create_confirmed_and_nulls(void **state)
{
    struct order_row row;
    struct jsonx *o;

    (void)state;
    /* explicit nulls are the same as absent fields; status may be "confirmed" */
    o = expect_valid("{\"currency\":\"KWD\",\"status\":\"confirmed\",\"external_id\":null,"
                     "\"customer\":null,\"shipping_address\":null,\"metadata\":null,"
                     "\"shipping_amount\":null,\"total_amount\":1234,"
                     "\"line_items\":[{\"name\":\"x\",\"quantity\":1,\"unit_price\":1234,"
                     "\"sku\":null}]}",
                     &row);
    assert_string_equal(row.status, "confirmed");
    assert_string_equal(row.currency, "KWD");
    assert_int_equal(row.total_amount, 1234);
    assert_string_equal(get_str(o, "status"), "confirmed");
    assert_null_member(o, "customer");
    jsonx_free(o);
    order_row_free(&row);

    /* a customer without an e-mail leaves the column NULL */
    o = expect_valid("{\"currency\":\"EUR\",\"customer\":{\"first_name\":\"Ada\"},"
                     "\"line_items\":[{\"name\":\"x\",\"quantity\":1,\"unit_price\":0}]}",
                     &row);
    assert_null(row.customer_email);
    assert_int_equal(row.total_amount, 0);
    jsonx_free(o);
    order_row_free(&row);
}

static void
test_create_limits_inclusive(void **state)
{
    struct jsonx *in = parse(minimal_order), *items, *meta, *o;
    struct order_row row;
    char key[64];

    (void)state;
    /* 250 line items and 50 metadata keys are allowed */
    items = jsonx_array();
    for (int i = 0; i < 250; i++)
        jsonx_append(items, parse("{\"name\":\"x\",\"quantity\":1000000,"
                                  "\"unit_price\":10}"));
    jsonx_set(in, "line_items", items);
    meta = jsonx_object();
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof key, "k%02d", i);
        jsonx_set_str(meta, key, "v");
    }
    jsonx_set(in, "metadata", meta);
    o = expect_valid_doc(in, &row);
    assert_int_equal(row.total_amount, INT64_C(250) * 1000000 * 10);
    assert_int_equal(jsonx_size(path_get(o, "line_items", NULL)), 250);
    jsonx_free(o);
    order_row_free(&row);
    jsonx_free(in);

    /* the largest unit price, quantity 1 */
    o = expect_valid("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"x\",\"quantity\":1,"
                     "\"unit_price\":10000000000000}],\"shipping_amount\":10000000000000}",
                     &row);
    assert_int_equal(row.total_amount, INT64_C(20000000000000));
    jsonx_free(o);
    order_row_free(&row);
}

/* ---- one rule at a time ------------------------------------------------------------ */

static void
test_rule_line_item_quantity(void **state)
{
    (void)state;
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1},{\"name\":\"b\",\"quantity\":0,\"unit_price\":1}]}",
                     "line_items[1].quantity", "out_of_range");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1},{\"name\":\"b\",\"quantity\":1000001,"
                     "\"unit_price\":1}]}",
                     "line_items[1].quantity", "out_of_range");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":-1,"
                     "\"unit_price\":1}]}",
                     "line_items[0].quantity", "out_of_range");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\","
                     "\"unit_price\":1}]}",
                     "line_items[0].quantity", "required");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":\"2\","
                     "\"unit_price\":1}]}",
                     "line_items[0].quantity", "invalid_type");
}

static void
test_rule_line_item_unit_price(void **state)
{
    (void)state;
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":12.5}]}",
                     "line_items[0].unit_price", "invalid_type");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":90.85}]}",
                     "line_items[0].unit_price", "invalid_type");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":-1}]}",
                     "line_items[0].unit_price", "out_of_range");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":10000000000001}]}",
                     "line_items[0].unit_price", "out_of_range");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1}]}",
                     "line_items[0].unit_price", "required");
}

static void
test_rule_line_item_fields(void **state)
{
    char *json;
    size_t cap = 2048;

    (void)state;
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"quantity\":1,"
                     "\"unit_price\":1}]}",
                     "line_items[0].name", "required");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"\",\"quantity\":1,"
                     "\"unit_price\":1}]}",
                     "line_items[0].name", "required");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":7,\"quantity\":1,"
                     "\"unit_price\":1}]}",
                     "line_items[0].name", "invalid_type");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\\u0001b\","
                     "\"quantity\":1,\"unit_price\":1}]}",
                     "line_items[0].name", "invalid_value");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1,\"ean13\":\"4006381333932\"}]}",
                     "line_items[0].ean13", "invalid_value");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1,\"ean13\":\"40063813339311\"}]}",
                     "line_items[0].ean13", "invalid_value");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1,\"image_url\":\"ftp://x.example/a.png\"}]}",
                     "line_items[0].image_url", "invalid_url");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1,\"color\":\"red\"}]}",
                     "line_items[0].color", "unknown_field");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1,\"custom\":{\"a]\":\"x\"}}]}",
                     "line_items[0].custom.a]", "invalid_value");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[\"tea\"]}", "line_items[0]",
                     "invalid_type");

    /* name: 500 characters (multi-byte) ok, 501 not */
    json = malloc(cap);
    assert_non_null(json);
    {
        struct order_row row;
        struct jsonx *o, *in;
        char name[501 * 2 + 1];
        for (int i = 0; i < 501; i++)
            memcpy(name + 2 * i, "\xc3\xa9", 2);
        name[1000] = '\0';
        snprintf(json, cap,
                 "{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"%s\",\"quantity\":1,"
                 "\"unit_price\":1}]}",
                 name);
        o = expect_valid(json, &row);
        jsonx_free(o);
        order_row_free(&row);
        name[1002] = '\0';
        memcpy(name + 1000, "\xc3\xa9", 2);
        snprintf(json, cap,
                 "{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"%s\",\"quantity\":1,"
                 "\"unit_price\":1}]}",
                 name);
        in = parse(json);
        expect_one_error_doc(in, "line_items[0].name", "too_long");
        jsonx_free(in);
    }
    free(json);
}

static void
test_rule_line_items_count(void **state)
{
    struct jsonx *in, *items;

    (void)state;
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[]}", "line_items", "too_short");
    expect_one_error("{\"currency\":\"EUR\"}", "line_items", "required");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":null}", "line_items", "required");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":{}}", "line_items", "invalid_type");

    in = parse(minimal_order);
    items = jsonx_array();
    for (int i = 0; i < 251; i++)
        jsonx_append(items, parse("{\"name\":\"x\",\"quantity\":1,\"unit_price\":1}"));
    jsonx_set(in, "line_items", items);
    expect_one_error_doc(in, "line_items", "too_many");
    jsonx_free(in);
}

static void
test_rule_currency(void **state)
{
    (void)state;
    expect_one_error("{\"line_items\":[{\"name\":\"a\",\"quantity\":1,\"unit_price\":1}]}",
                     "currency", "required");
    expect_one_error("{\"currency\":null,\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}]}",
                     "currency", "required");
    expect_one_error("{\"currency\":\"ABC\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}]}",
                     "currency", "invalid_currency");
    expect_one_error("{\"currency\":\"EURO\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}]}",
                     "currency", "invalid_currency");
    expect_one_error("{\"currency\":\"XAU\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}]}",
                     "currency", "invalid_currency");
    expect_one_error("{\"currency\":978,\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}]}",
                     "currency", "invalid_type");
}

static void
test_rule_status(void **state)
{
    (void)state;
    expect_one_error("{\"currency\":\"EUR\",\"status\":\"fulfilled\",\"line_items\":"
                     "[{\"name\":\"a\",\"quantity\":1,\"unit_price\":1}]}",
                     "status", "invalid_status");
    expect_one_error("{\"currency\":\"EUR\",\"status\":\"canceled\",\"line_items\":"
                     "[{\"name\":\"a\",\"quantity\":1,\"unit_price\":1}]}",
                     "status", "invalid_status");
    expect_one_error("{\"currency\":\"EUR\",\"status\":\"PENDING\",\"line_items\":"
                     "[{\"name\":\"a\",\"quantity\":1,\"unit_price\":1}]}",
                     "status", "invalid_status");
    expect_one_error("{\"currency\":\"EUR\",\"status\":1,\"line_items\":"
                     "[{\"name\":\"a\",\"quantity\":1,\"unit_price\":1}]}",
                     "status", "invalid_status");
}

static void
test_rule_amounts(void **state)
{
    (void)state;
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":2,"
                     "\"unit_price\":4295}],\"shipping_amount\":495,\"total_amount\":9084}",
                     "total_amount", "total_mismatch");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":2,"
                     "\"unit_price\":4295}],\"total_amount\":90.85}",
                     "total_amount", "invalid_type");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":100}],\"shipping_amount\":4.95}",
                     "shipping_amount", "invalid_type");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":100}],\"tax_amount\":-1}",
                     "tax_amount", "out_of_range");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":100}],\"shipping_amount\":10000000000001}",
                     "shipping_amount", "out_of_range");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":100}],\"discount_amount\":\"5\"}",
                     "discount_amount", "invalid_type");
    /* a discount bigger than the rest: the total would be negative */
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":100}],\"discount_amount\":101}",
                     "discount_amount", "out_of_range");
    /* quantity x unit_price beyond int64 is refused, not wrapped */
    {
        struct problems p = {0};
        struct order_row row = {0};
        struct jsonx *out = NULL,
                     *in = parse("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\","
                                 "\"quantity\":1000000,\"unit_price\":10000000000000}]}");
        assert_int_equal(order_validate_create(in, &p, &out, &row), -1);
        assert_null(out);
        assert_true(p.n >= 1);
        for (int i = 0; i < p.n; i++)
            assert_string_equal(p.e[i].code, "out_of_range");
        jsonx_free(in);
    }
}

/* Out-of-range amounts are reported once each and must not feed the total computation
 * (9e18 + 9e18 overflows int64). Last in the list: under UBSan it aborts the program. */
static void
test_rule_amounts_out_of_range_not_summed(void **state)
{
    struct problems p = {0};
    struct order_row row = {0};
    struct jsonx *out = NULL, *in = parse("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\","
                                          "\"quantity\":1,\"unit_price\":100}],"
                                          "\"shipping_amount\":9000000000000000000,"
                                          "\"tax_amount\":9000000000000000000}");
    int rc;
    bool ok;

    (void)state;
    rc = order_validate_create(in, &p, &out, &row);
    jsonx_free(in);
    if (out != NULL) {
        jsonx_free(out);
        order_row_free(&row);
    }
    assert_int_equal(rc, -1);
    ok = p.n == 2 && has_error(&p, "shipping_amount", "out_of_range") &&
         has_error(&p, "tax_amount", "out_of_range");
    if (!ok) {
        dump_problems(&p);
        fail_msg("expected exactly shipping_amount and tax_amount out_of_range, got %d", p.n);
    }
}

static void
test_rule_unknown_fields(void **state)
{
    (void)state;
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"coupon\":\"X\"}",
                     "coupon", "unknown_field");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"id\":\"019a5f7e-3b2c-7d41-9a8e-2f6c1d0b4e77\"}",
                     "id", "unknown_field");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"customer\":{\"nickname\":\"A\"}}",
                     "customer.nickname", "unknown_field");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"customer\":{\"address\":{\"line1\":\"a\","
                     "\"city\":\"b\",\"country\":\"FR\",\"name\":\"n\"}}}",
                     "customer.address.name", "unknown_field");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"shipping_address\":{\"line1\":\"a\","
                     "\"city\":\"b\",\"country\":\"FR\",\"zip\":\"1\"}}",
                     "shipping_address.zip", "unknown_field");
}

static void
test_rule_customer(void **state)
{
    (void)state;
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"customer\":{\"email\":\"ada.example.com\"}}",
                     "customer.email", "invalid_email");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"customer\":{\"email\":\"a..b@x.com\"}}",
                     "customer.email", "invalid_email");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"customer\":{\"phone\":\"0612345678\"}}",
                     "customer.phone", "invalid_phone");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"customer\":{\"birthday\":\"2999-01-01\"}}",
                     "customer.birthday", "invalid_date");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"customer\":{\"birthday\":\"2023-02-29\"}}",
                     "customer.birthday", "invalid_date");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"customer\":{\"birthday\":\"1990-12-10T00:00:00Z\"}}",
                     "customer.birthday", "invalid_date");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"customer\":\"ada@example.com\"}",
                     "customer", "invalid_type");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"customer\":{\"address\":{\"line1\":\"a\","
                     "\"city\":\"b\",\"country\":\"fr\"}}}",
                     "customer.address.country", "invalid_country");
}

static void
test_rule_addresses(void **state)
{
    (void)state;
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"shipping_address\":{\"line1\":\"a\","
                     "\"city\":\"b\",\"country\":\"UK\"}}",
                     "shipping_address.country", "invalid_country");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"shipping_address\":{\"line1\":\"a\","
                     "\"city\":\"b\",\"country\":\"fr\"}}",
                     "shipping_address.country", "invalid_country");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"shipping_address\":{\"line1\":\"a\","
                     "\"city\":\"b\"}}",
                     "shipping_address.country", "required");
    /* format codes come before length codes */
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"shipping_address\":{\"line1\":\"a\","
                     "\"city\":\"b\",\"country\":\"FRA\"}}",
                     "shipping_address.country", "invalid_country");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"shipping_address\":{\"line1\":\"a\","
                     "\"city\":\"b\",\"country\":\"FR\",\"phone\":\"+33612345678901234\"}}",
                     "shipping_address.phone", "invalid_phone");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"shipping_address\":{\"city\":\"b\","
                     "\"country\":\"FR\"}}",
                     "shipping_address.line1", "required");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"billing_address\":{\"line1\":\"a\","
                     "\"country\":\"FR\"}}",
                     "billing_address.city", "required");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"billing_address\":{\"line1\":\"a\","
                     "\"city\":\"b\",\"country\":\"FR\",\"phone\":\"+0\"}}",
                     "billing_address.phone", "invalid_phone");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"billing_address\":{\"line1\":\"a\","
                     "\"city\":\"b\",\"country\":\"FR\","
                     "\"postal_code\":\"123456789012345678901234567890123\"}}",
                     "billing_address.postal_code", "too_long");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"billing_address\":[]}",
                     "billing_address", "invalid_type");
}

static void
test_rule_metadata(void **state)
{
    struct jsonx *in, *meta;
    char key[64], *long_value;

    (void)state;
    in = parse(minimal_order);
    meta = jsonx_object();
    for (int i = 0; i < 51; i++) {
        snprintf(key, sizeof key, "k%02d", i);
        jsonx_set_str(meta, key, "v");
    }
    jsonx_set(in, "metadata", meta);
    expect_one_error_doc(in, "metadata", "too_many");
    jsonx_free(in);

    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"metadata\":{\"a[b\":\"x\"}}",
                     "metadata.a[b", "invalid_value");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"metadata\":{\"\":\"x\"}}",
                     "metadata.", "invalid_value");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"metadata\":{"
                     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":\"x\"}}",
                     "metadata.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "invalid_value");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"metadata\":{\"n\":5}}",
                     "metadata.n", "invalid_type");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"metadata\":{\"n\":\"a\\u0007\"}}",
                     "metadata.n", "invalid_value");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"metadata\":[\"x\"]}",
                     "metadata", "invalid_type");

    /* a 40-character key and a 500-character value pass; 501 does not */
    in = parse(minimal_order);
    meta = jsonx_object();
    long_value = malloc(502);
    assert_non_null(long_value);
    memset(long_value, 'v', 500);
    long_value[500] = '\0';
    jsonx_set_str(meta, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", long_value);
    jsonx_set(in, "metadata", meta);
    {
        struct order_row row;
        struct jsonx *o = expect_valid_doc(in, &row);
        jsonx_free(o);
        order_row_free(&row);
    }
    long_value[500] = 'v';
    long_value[501] = '\0';
    meta = jsonx_object();
    jsonx_set_str(meta, "k", long_value);
    jsonx_set(in, "metadata", meta);
    expect_one_error_doc(in, "metadata.k", "too_long");
    free(long_value);
    jsonx_free(in);
}

static void
test_rule_strings(void **state)
{
    (void)state;
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"external_id\":\"\"}",
                     "external_id", "too_short");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"external_id\":\"ORD\\n1\"}",
                     "external_id", "invalid_value");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"external_id\":1001}",
                     "external_id", "invalid_type");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"locale\":\"fr_FR\"}",
                     "locale", "invalid_value");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"platform\":"
                     "\"pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp\"}",
                     "platform", "too_long");
    expect_one_error("{\"currency\":\"EUR\",\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                     "\"unit_price\":1}],\"source\":\"web\\tshop\"}",
                     "source", "invalid_value");
}

static void
test_several_errors_reported(void **state)
{
    struct problems p = {0};
    struct order_row row = {0};
    struct jsonx *out = NULL,
                 *in = parse("{\"currency\":\"XYZ\",\"status\":\"fulfilled\",\"foo\":1,"
                             "\"customer\":{\"email\":\"nope\",\"birthday\":\"2999-01-01\"},"
                             "\"shipping_address\":{\"line1\":\"a\",\"city\":\"b\","
                             "\"country\":\"ZZ\"},"
                             "\"line_items\":[{\"name\":\"a\",\"quantity\":1,"
                             "\"unit_price\":1},{\"name\":\"b\",\"quantity\":0,"
                             "\"unit_price\":12.5}],"
                             "\"metadata\":{\"a]\":\"x\"}}");
    static const char *const expected[][2] = {
        {"foo", "unknown_field"},
        {"currency", "invalid_currency"},
        {"status", "invalid_status"},
        {"customer.email", "invalid_email"},
        {"customer.birthday", "invalid_date"},
        {"shipping_address.country", "invalid_country"},
        {"line_items[1].quantity", "out_of_range"},
        {"line_items[1].unit_price", "invalid_type"},
        {"metadata.a]", "invalid_value"},
    };

    (void)state;
    assert_int_equal(order_validate_create(in, &p, &out, &row), -1);
    assert_null(out);
    for (size_t i = 0; i < N(expected); i++) {
        if (!has_error(&p, expected[i][0], expected[i][1])) {
            dump_problems(&p);
            fail_msg("missing error %s %s", expected[i][0], expected[i][1]);
        }
    }
    if (p.n != (int)N(expected)) {
        dump_problems(&p);
        fail_msg("expected %zu errors, got %d", N(expected), p.n);
    }
    jsonx_free(in);
}

static void
test_error_overflow_counted(void **state)
{
    struct problems p = {0};
    struct order_row row = {0};
    struct jsonx *out = NULL, *in = parse(minimal_order);
    char key[32];

    (void)state;
    /* 60 unknown fields: LIMIT_FIELD_ERRORS kept, the rest counted as dropped */
    for (int i = 0; i < 60; i++) {
        snprintf(key, sizeof key, "x%02d", i);
        jsonx_set_int(in, key, i);
    }
    assert_int_equal(order_validate_create(in, &p, &out, &row), -1);
    assert_null(out);
    assert_int_equal(p.n, LIMIT_FIELD_ERRORS);
    assert_int_equal(p.dropped, 60 - LIMIT_FIELD_ERRORS);
    jsonx_free(in);
}

/* ---- finalize, status machine, patch, cancel ------------------------------------- */

/* A finalized row for full_order (or the given JSON) at NOW_MS. */
static void
make_order(const char *json, struct order_row *row)
{
    struct jsonx *o = expect_valid(json, row);

    assert_int_equal(
        order_finalize_new(o, row, "org_0123456789abcdefghjk", MODE_TEST, "v1", NOW_MS), 0);
    jsonx_free(o);
}

static struct jsonx *
parse_body(const struct order_row *row)
{
    struct jsonx_error err;
    struct jsonx *doc;

    assert_non_null(row->body);
    assert_int_equal(strlen(row->body), row->body_len);
    doc = jsonx_parse(row->body, row->body_len, 64, &err);
    if (doc == NULL)
        fail_msg("body does not parse: %s", err.text);
    return doc;
}

static void
test_finalize_new(void **state)
{
    struct order_row row;
    struct jsonx *o, *doc;
    char ts[CLOCK_RFC3339_LEN];
    const char *org = "org_0123456789abcdefghjk";

    (void)state;
    o = expect_valid(full_order, &row);
    assert_int_equal(order_finalize_new(o, &row, org, MODE_LIVE, "v1", NOW_MS), 0);
    assert_true(ids_is_uuid(row.id));
    assert_int_equal(row.id[14], '7');
    assert_true(ids_is_short(row.short_id));
    assert_string_equal(row.org_id, org);
    assert_int_equal(row.mode, MODE_LIVE);
    assert_string_equal(row.dialect, "v1");
    assert_int_equal(row.version, 1);
    assert_int_equal(row.created_ms, NOW_MS);
    assert_int_equal(row.updated_ms, NOW_MS);
    /* the row keeps what validation set */
    assert_string_equal(row.status, "pending");
    assert_string_equal(row.currency, "EUR");
    assert_int_equal(row.total_amount, 10685);
    assert_string_equal(row.external_id, "ORD-1001");
    assert_string_equal(row.customer_email, "ada.lovelace@example.com");

    doc = parse_body(&row);
    assert_string_equal(get_str(doc, "object"), "order");
    assert_string_equal(get_str(doc, "id"), row.id);
    assert_string_equal(get_str(doc, "short_id"), row.short_id);
    assert_int_equal(jsonx_type(path_get(doc, "livemode", NULL)), JX_BOOL);
    assert_true(jsonx_bool(path_get(doc, "livemode", NULL)));
    assert_string_equal(get_str(doc, "mode"), "live");
    assert_string_equal(get_str(doc, "dialect"), "v1");
    assert_int_equal(get_int(doc, "version"), 1);
    clock_format_ms(NOW_MS, ts);
    assert_string_equal(get_str(doc, "created_at"), "2026-11-23T14:00:00.123Z");
    assert_string_equal(get_str(doc, "created_at"), ts);
    assert_string_equal(get_str(doc, "updated_at"), get_str(doc, "created_at"));
    assert_string_equal(get_str(doc, "currency"), "EUR");
    assert_int_equal(get_int(doc, "total_amount"), 10685);
    assert_string_equal(get_str(doc, "status"), "pending");
    assert_null_member(doc, "canceled_at");
    assert_null_member(doc, "cancellation_reason");
    assert_int_equal(jsonx_size(path_get(doc, "line_items", NULL)), 2);
    /* "object" comes first in the text */
    assert_memory_equal(row.body, "{\"object\":\"order\"", 17);
    jsonx_free(doc);
    jsonx_free(o);
    order_row_free(&row);

    /* test mode */
    make_order(minimal_order, &row);
    doc = parse_body(&row);
    assert_false(jsonx_bool(path_get(doc, "livemode", NULL)));
    assert_string_equal(get_str(doc, "mode"), "test");
    jsonx_free(doc);
    order_row_free(&row);
}

static void
test_reshort(void **state)
{
    struct order_row row;
    struct jsonx *doc;
    char before[IDS_SHORT_LEN], id[IDS_UUID_LEN];
    int tries = 0;

    (void)state;
    make_order(full_order, &row);
    memcpy(before, row.short_id, sizeof before);
    memcpy(id, row.id, sizeof id);
    do {
        assert_int_equal(order_reshort(&row), 0);
    } while (strcmp(before, row.short_id) == 0 && ++tries < 5);
    assert_string_not_equal(before, row.short_id);
    assert_true(ids_is_short(row.short_id));
    assert_string_equal(row.id, id);
    doc = parse_body(&row);
    assert_string_equal(get_str(doc, "short_id"), row.short_id);
    assert_string_equal(get_str(doc, "id"), id);
    assert_int_equal(get_int(doc, "version"), 1);
    jsonx_free(doc);
    order_row_free(&row);
}

static void
test_transition_table(void **state)
{
    static const struct {
        const char *from, *to;
        bool ok;
    } cases[] = {
        {"pending", "confirmed", true},
        {"pending", "canceled", true},
        {"confirmed", "fulfilled", true},
        {"confirmed", "canceled", true},
        {"canceled", "confirmed", true},
        {"pending", "pending", true},
        {"confirmed", "confirmed", true},
        {"fulfilled", "fulfilled", true},
        {"canceled", "canceled", true},
        {"pending", "fulfilled", false}, /* must be confirmed first */
        {"confirmed", "pending", false},
        {"fulfilled", "canceled", false},
        {"fulfilled", "pending", false},
        {"fulfilled", "confirmed", false},
        {"canceled", "fulfilled", false},
        {"canceled", "pending", false},
    };
    int wrong = 0;

    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        if (order_transition_ok(cases[i].from, cases[i].to) != cases[i].ok) {
            print_error("order_transition_ok(%s, %s) = %s, docs/api-v1.md says %s\n", cases[i].from,
                        cases[i].to, cases[i].ok ? "false" : "true",
                        cases[i].ok ? "allowed" : "not allowed");
            wrong++;
        }
    }
    assert_int_equal(wrong, 0);
    assert_true(order_status_valid("pending"));
    assert_true(order_status_valid("confirmed"));
    assert_true(order_status_valid("fulfilled"));
    assert_true(order_status_valid("canceled"));
    assert_false(order_status_valid("cancelled"));
    assert_false(order_status_valid("shipped"));
    assert_false(order_status_valid(""));
}

static void
test_validate_patch(void **state)
{
    static const struct {
        const char *json, *field, *code;
    } bad[] = {
        {"{\"currency\":\"USD\"}", "currency", "not_updatable"},
        {"{\"line_items\":[]}", "line_items", "not_updatable"},
        {"{\"total_amount\":1}", "total_amount", "not_updatable"},
        {"{\"status\":\"shipped\"}", "status", "invalid_status"},
        {"{\"status\":3}", "status", "invalid_status"},
        {"{\"customer\":{\"email\":\"x\"}}", "customer.email", "invalid_email"},
        {"{\"shipping_address\":{\"line1\":\"a\",\"city\":\"b\",\"country\":\"UK\"}}",
         "shipping_address.country", "invalid_country"},
        {"{\"metadata\":\"x\"}", "metadata", "invalid_type"},
        {"{\"metadata\":{\"a[\":\"x\"}}", "metadata.a[", "invalid_value"},
        {"{\"locale\":\"f\"}", "locale", "invalid_value"},
        {"{\"version\":0}", "version", "out_of_range"},
    };
    static const char *const good[] = {
        "{}",
        "{\"status\":\"fulfilled\"}",
        "{\"status\":\"canceled\",\"version\":3}",
        "{\"metadata\":null}",
        "{\"metadata\":{\"a\":null,\"b\":\"x\"}}",
        "{\"customer\":{\"email\":\"a@b.co\"},\"platform\":\"shopify\",\"locale\":\"en\"}",
    };

    (void)state;
    for (size_t i = 0; i < N(bad); i++) {
        struct problems p = {0};
        struct jsonx *in = parse(bad[i].json);
        assert_int_equal(order_validate_patch(in, &p), -1);
        if (p.n != 1 || !has_error(&p, bad[i].field, bad[i].code)) {
            dump_problems(&p);
            fail_msg("patch %s: expected %s %s", bad[i].json, bad[i].field, bad[i].code);
        }
        jsonx_free(in);
    }
    for (size_t i = 0; i < N(good); i++) {
        struct problems p = {0};
        struct jsonx *in = parse(good[i]);
        if (order_validate_patch(in, &p) != 0) {
            dump_problems(&p);
            fail_msg("patch %s refused", good[i]);
        }
        jsonx_free(in);
    }
}

/* Applies patch JSON to cur into *next (a fresh copy of cur). Returns the rc. */
static int
apply(const struct order_row *cur, const char *json, struct order_row *next, int64_t now,
      const char **event)
{
    struct jsonx *patch = parse(json);
    struct problems p = {0};
    int rc;

    assert_int_equal(order_validate_patch(patch, &p), 0);
    assert_int_equal(order_row_copy(next, cur), 0);
    *event = NULL;
    rc = order_apply_patch(cur, patch, next, now, event);
    jsonx_free(patch);
    return rc;
}

static void
test_apply_patch_status(void **state)
{
    struct order_row cur, next, next2;
    struct jsonx *doc;
    const char *event;
    char ts[CLOCK_RFC3339_LEN];

    (void)state;
    make_order(full_order, &cur);

    /* pending -> confirmed */
    assert_int_equal(apply(&cur, "{\"status\":\"confirmed\"}", &next, NOW_MS + 1000, &event), 1);
    assert_non_null(event);
    assert_string_equal(event, "order.updated");
    assert_string_equal(next.status, "confirmed");
    assert_int_equal(next.version, 2);
    assert_int_equal(next.created_ms, NOW_MS);
    assert_int_equal(next.updated_ms, NOW_MS + 1000);
    assert_string_equal(next.id, cur.id);
    assert_string_equal(next.short_id, cur.short_id);
    doc = parse_body(&next);
    assert_string_equal(get_str(doc, "status"), "confirmed");
    assert_int_equal(get_int(doc, "version"), 2);
    clock_format_ms(NOW_MS + 1000, ts);
    assert_string_equal(get_str(doc, "updated_at"), ts);
    assert_string_equal(get_str(doc, "created_at"), "2026-11-23T14:00:00.123Z");
    assert_string_equal(get_str(doc, "id"), cur.id);
    assert_int_equal(get_int(doc, "total_amount"), 10685);
    jsonx_free(doc);
    /* the current row is untouched */
    assert_string_equal(cur.status, "pending");
    assert_int_equal(cur.version, 1);

    /* confirmed -> canceled: order.canceled with canceled_at */
    assert_int_equal(apply(&next, "{\"status\":\"canceled\"}", &next2, NOW_MS + 2000, &event), 1);
    assert_string_equal(event, "order.canceled");
    assert_string_equal(next2.status, "canceled");
    assert_int_equal(next2.version, 3);
    doc = parse_body(&next2);
    clock_format_ms(NOW_MS + 2000, ts);
    assert_string_equal(get_str(doc, "canceled_at"), ts);
    jsonx_free(doc);
    order_row_free(&next);

    /* canceled -> fulfilled is illegal; canceled -> confirmed re-opens */
    assert_int_equal(apply(&next2, "{\"status\":\"fulfilled\"}", &next, NOW_MS + 3000, &event), -1);
    order_row_free(&next);
    assert_int_equal(apply(&next2, "{\"status\":\"confirmed\"}", &next, NOW_MS + 3000, &event), 1);
    assert_string_equal(event, "order.updated");
    assert_string_equal(next.status, "confirmed");
    assert_int_equal(next.version, 4);
    doc = parse_body(&next);
    assert_null_member(doc, "canceled_at");
    assert_null_member(doc, "cancellation_reason");
    jsonx_free(doc);
    order_row_free(&next2);

    /* confirmed -> fulfilled, then fulfilled -> anything else is illegal */
    assert_int_equal(apply(&next, "{\"status\":\"fulfilled\"}", &next2, NOW_MS + 4000, &event), 1);
    assert_string_equal(next2.status, "fulfilled");
    assert_int_equal(next2.version, 5);
    order_row_free(&next);
    assert_int_equal(apply(&next2, "{\"status\":\"canceled\"}", &next, NOW_MS + 5000, &event), -1);
    order_row_free(&next);
    assert_int_equal(apply(&next2, "{\"status\":\"pending\"}", &next, NOW_MS + 5000, &event), -1);
    order_row_free(&next);

    order_row_free(&next2);
    order_row_free(&cur);
}

static void
test_apply_patch_metadata_and_fields(void **state)
{
    struct order_row cur, next, next2;
    struct jsonx *doc;
    const struct jsonx *meta;
    const char *event;

    (void)state;
    make_order(full_order, &cur); /* metadata {"cart_id":"abc","note":"leave at\tdoor"} */

    /* merge: null deletes, others set */
    assert_int_equal(apply(&cur,
                           "{\"metadata\":{\"note\":null,\"gift\":\"yes\","
                           "\"absent\":null}}",
                           &next, NOW_MS + 1000, &event),
                     1);
    assert_string_equal(event, "order.updated");
    assert_int_equal(next.version, 2);
    assert_string_equal(next.status, "pending");
    doc = parse_body(&next);
    meta = path_get(doc, "metadata", NULL);
    assert_int_equal(jsonx_size(meta), 2);
    assert_string_equal(jsonx_str(path_get(meta, "cart_id", NULL)), "abc");
    assert_string_equal(jsonx_str(path_get(meta, "gift", NULL)), "yes");
    assert_null(jsonx_get(meta, "note"));
    assert_null(jsonx_get(meta, "absent"));
    jsonx_free(doc);

    /* "metadata": null clears all */
    assert_int_equal(apply(&next, "{\"metadata\":null}", &next2, NOW_MS + 2000, &event), 1);
    assert_int_equal(next2.version, 3);
    doc = parse_body(&next2);
    meta = path_get(doc, "metadata", NULL);
    assert_int_equal(jsonx_type(meta), JX_OBJECT);
    assert_int_equal(jsonx_size(meta), 0);
    jsonx_free(doc);
    order_row_free(&next2);
    order_row_free(&next);

    /* customer replaces, and the e-mail column follows (lower case) */
    assert_int_equal(apply(&cur,
                           "{\"customer\":{\"email\":\"Grace@Navy.MIL\"},"
                           "\"platform\":\"shopify\"}",
                           &next, NOW_MS + 1000, &event),
                     1);
    assert_string_equal(next.customer_email, "grace@navy.mil");
    doc = parse_body(&next);
    assert_string_equal(get_str(doc, "platform"), "shopify");
    assert_null_member(path_get(doc, "customer", NULL), "first_name");
    assert_string_equal(jsonx_str(path_get(doc, "customer", "email")), "Grace@Navy.MIL");
    jsonx_free(doc);
    order_row_free(&next);

    /* customer: null removes the e-mail column */
    assert_int_equal(apply(&cur, "{\"customer\":null}", &next, NOW_MS + 1000, &event), 1);
    assert_null(next.customer_email);
    order_row_free(&next);

    order_row_free(&cur);
}

static void
test_apply_patch_noop(void **state)
{
    static const char *const noops[] = {
        "{}",
        "{\"status\":\"pending\"}",
        "{\"metadata\":{\"cart_id\":\"abc\"}}",
        "{\"metadata\":{\"unknown_key\":null}}",
        "{\"platform\":\"woocommerce\",\"source\":\"web\",\"locale\":\"fr-FR\"}",
        "{\"version\":1}",
    };
    struct order_row cur, next;
    const char *event;

    (void)state;
    make_order(full_order, &cur);
    for (size_t i = 0; i < N(noops); i++) {
        int rc = apply(&cur, noops[i], &next, NOW_MS + 1000, &event);
        if (rc != 0)
            fail_msg("patch %s returned %d, expected 0 (no change)", noops[i], rc);
        assert_int_equal(next.version, 1);
        assert_int_equal(next.updated_ms, NOW_MS);
        assert_string_equal(next.body, cur.body);
        order_row_free(&next);
    }
    order_row_free(&cur);
}

static void
test_cancel(void **state)
{
    struct order_row cur, next, next2, tmp;
    struct jsonx *doc;
    const char *event;
    char ts[CLOCK_RFC3339_LEN];

    (void)state;
    make_order(full_order, &cur);

    /* pending -> canceled */
    assert_int_equal(order_row_copy(&next, &cur), 0);
    assert_int_equal(order_cancel(&cur, "customer request", &next, NOW_MS + 500), 1);
    assert_string_equal(next.status, "canceled");
    assert_int_equal(next.version, 2);
    assert_int_equal(next.updated_ms, NOW_MS + 500);
    doc = parse_body(&next);
    assert_string_equal(get_str(doc, "status"), "canceled");
    assert_string_equal(get_str(doc, "cancellation_reason"), "customer request");
    clock_format_ms(NOW_MS + 500, ts);
    assert_string_equal(get_str(doc, "canceled_at"), ts);
    assert_int_equal(get_int(doc, "version"), 2);
    jsonx_free(doc);

    /* already canceled: 0, nothing changes */
    assert_int_equal(order_row_copy(&next2, &next), 0);
    assert_int_equal(order_cancel(&next, "again", &next2, NOW_MS + 600), 0);
    assert_int_equal(next2.version, 2);
    assert_string_equal(next2.body, next.body);
    order_row_free(&next2);
    order_row_free(&next);

    /* no reason: null */
    assert_int_equal(order_row_copy(&next, &cur), 0);
    assert_int_equal(order_cancel(&cur, NULL, &next, NOW_MS + 500), 1);
    doc = parse_body(&next);
    assert_null_member(doc, "cancellation_reason");
    jsonx_free(doc);
    order_row_free(&next);

    /* confirmed -> canceled works; fulfilled cannot be canceled */
    assert_int_equal(apply(&cur, "{\"status\":\"confirmed\"}", &next, NOW_MS + 1000, &event), 1);
    assert_int_equal(order_row_copy(&tmp, &next), 0);
    assert_int_equal(order_cancel(&next, NULL, &tmp, NOW_MS + 1100), 1);
    assert_string_equal(tmp.status, "canceled");
    order_row_free(&tmp);
    assert_int_equal(apply(&next, "{\"status\":\"fulfilled\"}", &next2, NOW_MS + 2000, &event), 1);
    assert_int_equal(order_row_copy(&tmp, &next2), 0);
    assert_int_equal(order_cancel(&next2, "too late", &tmp, NOW_MS + 3000), -1);
    assert_string_equal(tmp.status, "fulfilled");
    assert_int_equal(tmp.version, next2.version);
    order_row_free(&tmp);
    order_row_free(&next2);
    order_row_free(&next);
    order_row_free(&cur);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_full_order),
        cmocka_unit_test(test_create_minimal_order_defaults),
        cmocka_unit_test(test_create_confirmed_and_nulls),
        cmocka_unit_test(test_create_limits_inclusive),
        cmocka_unit_test(test_rule_line_item_quantity),
        cmocka_unit_test(test_rule_line_item_unit_price),
        cmocka_unit_test(test_rule_line_item_fields),
        cmocka_unit_test(test_rule_line_items_count),
        cmocka_unit_test(test_rule_currency),
        cmocka_unit_test(test_rule_status),
        cmocka_unit_test(test_rule_amounts),
        cmocka_unit_test(test_rule_unknown_fields),
        cmocka_unit_test(test_rule_customer),
        cmocka_unit_test(test_rule_addresses),
        cmocka_unit_test(test_rule_metadata),
        cmocka_unit_test(test_rule_strings),
        cmocka_unit_test(test_several_errors_reported),
        cmocka_unit_test(test_error_overflow_counted),
        cmocka_unit_test(test_finalize_new),
        cmocka_unit_test(test_reshort),
        cmocka_unit_test(test_transition_table),
        cmocka_unit_test(test_validate_patch),
        cmocka_unit_test(test_apply_patch_status),
        cmocka_unit_test(test_apply_patch_metadata_and_fields),
        cmocka_unit_test(test_apply_patch_noop),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_rule_amounts_out_of_range_not_summed),
    };

    if (crypto_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
