/* SPDX-License-Identifier: MIT */
/* Unit tests for core/kohort_rules.h (tiers, cashback, fee, durations, ids) and
 * core/risk.h (each rule of the risk level). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/crypto.h"
#include "core/kohort_rules.h"
#include "core/risk.h"

static void
test_tiers(void **state)
{
    struct kohort_tiers t;
    char err[160], text[128];

    (void)state;
    assert_int_equal(kohort_tiers_parse("2:5%,5:10%,10:15%", &t, err, sizeof err), 0);
    assert_false(t.fixed);
    assert_int_equal(t.n, 3);
    kohort_tiers_format(&t, text, sizeof text);
    assert_string_equal(text, "2:5%,5:10%,10:15%");
    assert_int_equal(kohort_tiers_parse(" 2:500 , 4:1500", &t, err, sizeof err), 0);
    assert_true(t.fixed);
    kohort_tiers_format(&t, text, sizeof text);
    assert_string_equal(text, "2:500,4:1500");
    assert_int_equal(kohort_tiers_parse("3:5%", &t, err, sizeof err), -1);
    assert_int_equal(kohort_tiers_parse("2:5%,5:5%", &t, err, sizeof err), -1);
    assert_int_equal(kohort_tiers_parse("2:5%,2:6%", &t, err, sizeof err), -1);
    assert_int_equal(kohort_tiers_parse("2:5%,3:600", &t, err, sizeof err), -1);
    assert_int_equal(kohort_tiers_parse("2:101%", &t, err, sizeof err), -1);
    assert_int_equal(kohort_tiers_parse("2:0", &t, err, sizeof err), -1);
    assert_int_equal(kohort_tiers_parse("", &t, err, sizeof err), -1);
    assert_int_equal(kohort_tiers_parse("2:1%,3:2%,4:3%,5:4%,6:5%,7:6%", &t, err, sizeof err), -1);
    assert_int_equal(kohort_tiers_parse("2:5%x", &t, err, sizeof err), -1);
    assert_int_equal(kohort_tiers_parse("2:99999999999999", &t, err, sizeof err), -1);
}

static void
test_cashback(void **state)
{
    struct kohort_tiers t;
    char err[160];

    (void)state;
    kohort_tiers_default(&t);
    assert_int_equal(kohort_tier_reached(&t, 1), -1);
    assert_int_equal(kohort_tier_reached(&t, 2), 0);
    assert_int_equal(kohort_tier_reached(&t, 4), 0);
    assert_int_equal(kohort_tier_reached(&t, 5), 1);
    assert_int_equal(kohort_tier_reached(&t, 15), 2);
    /* the worked example: 3 orders at 5 % */
    assert_int_equal(kohort_cashback(&t, 0, 10000), 500);
    assert_int_equal(kohort_cashback(&t, 0, 5000), 250);
    assert_int_equal(kohort_cashback(&t, 0, 8000), 400);
    assert_int_equal(kohort_cashback(&t, 1, 12345), 1235); /* 1234.5: half up */
    assert_int_equal(kohort_cashback(&t, -1, 12345), 0);
    assert_int_equal(kohort_tiers_parse("2:500,4:1500", &t, err, sizeof err), 0);
    assert_int_equal(kohort_cashback(&t, 1, 1), 1500);
    assert_int_equal(kohort_fee(5000), 600);
    assert_int_equal(kohort_fee(12345), 1482);
    assert_int_equal(kohort_fee(0), 0);
}

static void
test_duration(void **state)
{
    int64_t ms;
    char err[160];

    (void)state;
    assert_int_equal(kohort_duration_parse("90d", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 90LL * 86400000);
    assert_int_equal(kohort_duration_parse("10m", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 600000);
    assert_int_equal(kohort_duration_parse("2s", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 2000);
    assert_int_equal(kohort_duration_parse("0s", &ms, err, sizeof err), -1);
    assert_int_equal(kohort_duration_parse("91d", &ms, err, sizeof err), -1);
    assert_int_equal(kohort_duration_parse("10", &ms, err, sizeof err), -1);
    assert_int_equal(kohort_duration_parse("10mm", &ms, err, sizeof err), -1);
    assert_int_equal(kohort_duration_parse("-1h", &ms, err, sizeof err), -1);
}

static void
test_ids(void **state)
{
    char a[24], b[24], code[32];

    (void)state;
    kohort_id("pg_", a);
    assert_int_equal(strlen(a), 17);
    kohort_customer_id_for("org_x", MODE_TEST, "a@b.c", a);
    kohort_customer_id_for("org_x", MODE_TEST, "a@b.c", b);
    assert_string_equal(a, b);
    kohort_customer_id_for("org_x", MODE_LIVE, "a@b.c", b);
    assert_string_not_equal(a, b);
    kohort_share_code(MODE_TEST, code);
    assert_int_equal(strncmp(code, "KHT-test-", 9), 0);
    assert_int_equal(strlen(code), 17);
    kohort_share_code(MODE_LIVE, code);
    assert_int_equal(strlen(code), 12);
}

static void
test_risk(void **state)
{
    struct risk_peer peer = {"jane.doe+x@corp.example", "+33611111111", "Jane", "Doe"};
    struct risk_input in;
    unsigned why;

    (void)state;
    memset(&in, 0, sizeof in);
    in.email = "bob@gmail.com";
    in.amount = 1000;
    assert_int_equal(risk_assess(&in, &why), RISK_LOW);
    assert_int_equal(why, 0);
    in.email = "x@yopmail.com";
    assert_int_equal(risk_assess(&in, &why), RISK_HIGH);
    assert_true(why & RISK_R_DISPOSABLE);
    in.email = "bob@gmail.com";
    in.n_email_recent = 3;
    assert_int_equal(risk_assess(&in, NULL), RISK_MEDIUM);
    in.n_phone_recent = 10;
    assert_int_equal(risk_assess(&in, NULL), RISK_HIGH);
    in.n_email_recent = in.n_phone_recent = 0;
    in.n_history = 20;
    in.mean_amount = 100;
    in.amount = 501;
    assert_int_equal(risk_assess(&in, NULL), RISK_LOW); /* 501 / 5 = 100: not above */
    in.amount = 600;
    assert_int_equal(risk_assess(&in, NULL), RISK_MEDIUM);
    in.amount = 1100;
    assert_int_equal(risk_assess(&in, NULL), RISK_HIGH);
    in.n_history = 19;
    assert_int_equal(risk_assess(&in, NULL), RISK_LOW);
    in.peers = &peer;
    in.n_peers = 1;
    assert_int_equal(risk_assess(&in, NULL), RISK_LOW);
    in.email = "other@corp.example";
    assert_int_equal(risk_assess(&in, &why), RISK_MEDIUM);
    assert_true(why & RISK_R_PEER_DOMAIN);
    in.email = "J.aneDoe@gmail.com";
    assert_int_equal(risk_assess(&in, &why), RISK_HIGH);
    assert_true(why & RISK_R_PEER_EMAIL);
    in.email = "bob@gmail.com";
    in.phone = "+33611111111";
    assert_int_equal(risk_assess(&in, NULL), RISK_HIGH);
    in.first_name = "JANE";
    in.last_name = "doe";
    assert_int_equal(risk_assess(&in, NULL), RISK_HIGHEST);
    assert_string_equal(risk_level_name(RISK_HIGHEST), "HIGHEST");
    assert_true(risk_email_webmail("a@Gmail.com"));
    assert_false(risk_email_webmail("a@corp.example"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiers),    cmocka_unit_test(test_cashback),
        cmocka_unit_test(test_duration), cmocka_unit_test(test_ids),
        cmocka_unit_test(test_risk),
    };

    if (crypto_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
