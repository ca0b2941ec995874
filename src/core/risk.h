/* SPDX-License-Identifier: MIT */
/*
 * risk.h -- a deterministic order risk level (LOW, MEDIUM, HIGH, HIGHEST) from a fixed
 * rule set, for any API. The caller gathers the facts (its store queries) and this
 * module only decides, so the same facts always give the same level. The rules are
 * documented in docs/dialects/kohort.md ("Risk level") and in risk.c.
 */
#ifndef ORDERD_RISK_H
#define ORDERD_RISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum risk_level { RISK_LOW = 0, RISK_MEDIUM = 1, RISK_HIGH = 2, RISK_HIGHEST = 3 };

/* Which rules fired (risk_input.reasons). */
enum risk_reason {
    RISK_R_DISPOSABLE = 1 << 0,    /* disposable e-mail domain: HIGH */
    RISK_R_VELOCITY_MED = 1 << 1,  /* 3+ orders from this e-mail or phone in 24 h: MEDIUM */
    RISK_R_VELOCITY_HIGH = 1 << 2, /* 10+ such orders: HIGH */
    RISK_R_AMOUNT_MED = 1 << 3,    /* amount > 5x the org's mean (20+ orders known): MEDIUM */
    RISK_R_AMOUNT_HIGH = 1 << 4,   /* amount > 10x that mean: HIGH */
    RISK_R_PEER_NAME = 1 << 5,     /* same first and last name as a group peer: HIGHEST */
    RISK_R_PEER_PHONE = 1 << 6,    /* same phone as a group peer: HIGH */
    RISK_R_PEER_EMAIL = 1 << 7,    /* same normalised e-mail local part as a peer: HIGH */
    RISK_R_PEER_DOMAIN = 1 << 8,   /* same non-webmail e-mail domain as a peer: MEDIUM */
};

/* Another member of the same group (or any related party) to compare with. */
struct risk_peer {
    const char *email, *phone, *first_name, *last_name; /* any may be NULL */
};

struct risk_input {
    const char *email, *phone, *first_name, *last_name; /* any may be NULL */
    int64_t amount;                                     /* minor units */
    int n_email_recent;  /* earlier orders of the org with this e-mail in the last 24 h */
    int n_phone_recent;  /* the same for the phone */
    int64_t mean_amount; /* mean order amount of the org (same currency) */
    int n_history;       /* how many orders that mean is over */
    const struct risk_peer *peers;
    size_t n_peers;
};

/* The level of in; *reasons (may be NULL) gets the enum risk_reason bits that fired. */
enum risk_level risk_assess(const struct risk_input *in, unsigned *reasons);
const char *risk_level_name(enum risk_level l); /* "LOW" ... "HIGHEST" */
/* Is the e-mail's domain a known disposable-address provider? */
bool risk_email_disposable(const char *email);
/* Is the e-mail's domain a known public webmail provider? */
bool risk_email_webmail(const char *email);

#endif
