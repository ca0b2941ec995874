/* SPDX-License-Identifier: MIT */
/*
 * risk.c -- the rule set of risk.h. Each rule gives a level; the order's level is the
 * highest one that fired:
 *   HIGHEST  same first and last name (case-insensitive) as a group peer;
 *   HIGH     disposable e-mail domain; same phone as a peer; same normalised e-mail
 *            local part as a peer (lower case, dots and +tags removed); 10 or more
 *            orders from the e-mail or the phone in the last 24 h; amount above 10x the
 *            org's mean over at least 20 orders;
 *   MEDIUM   same e-mail domain as a peer when it is not a public webmail; 3 or more
 *            orders from the e-mail or phone in 24 h; amount above 5x the mean;
 *   LOW      otherwise.
 */
#include "core/risk.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define VELOCITY_MEDIUM 3
#define VELOCITY_HIGH   10
#define AMOUNT_MIN_HIST 20
#define AMOUNT_MEDIUM_X 5
#define AMOUNT_HIGH_X   10

static const char *const disposable[] = {
    "mailinator.com",    "yopmail.com",      "yopmail.fr",
    "guerrillamail.com", "10minutemail.com", "trashmail.com",
    "tempmail.com",      "temp-mail.org",    "throwawaymail.com",
    "getnada.com",       "dispostable.com",  "maildrop.cc",
    "sharklasers.com",   "jetable.org",      "discard.email",
    "fakeinbox.com",     "mintemail.com",    "mohmal.com",
    "emailondeck.com",   "spamgourmet.com",  NULL,
};

static const char *const webmail[] = {
    "gmail.com",   "googlemail.com", "yahoo.com", "yahoo.fr",       "hotmail.com", "hotmail.fr",
    "outlook.com", "outlook.fr",     "live.com",  "live.fr",        "msn.com",     "icloud.com",
    "me.com",      "aol.com",        "orange.fr", "wanadoo.fr",     "free.fr",     "sfr.fr",
    "laposte.net", "gmx.com",        "gmx.fr",    "protonmail.com", "proton.me",   NULL,
};

static const char *
domain_of(const char *email)
{
    const char *at = email != NULL ? strrchr(email, '@') : NULL;

    return at != NULL ? at + 1 : NULL;
}

static bool
in_list(const char *const *list, const char *domain)
{
    if (domain == NULL)
        return false;
    for (int i = 0; list[i] != NULL; i++)
        if (strcasecmp(list[i], domain) == 0)
            return true;
    return false;
}

bool
risk_email_disposable(const char *email)
{
    return in_list(disposable, domain_of(email));
}

bool
risk_email_webmail(const char *email)
{
    return in_list(webmail, domain_of(email));
}

/* Lower case, without dots and without a +tag: "Jo.Hn+x@a" -> "john". */
static void
local_norm(const char *email, char *out, size_t size)
{
    size_t n = 0;

    out[0] = '\0';
    if (email == NULL)
        return;
    for (const char *p = email; *p && *p != '@' && *p != '+' && n + 1 < size; p++)
        if (*p != '.')
            out[n++] = (char)tolower((unsigned char)*p);
    out[n] = '\0';
}

static bool
same_text(const char *a, const char *b)
{
    return a != NULL && b != NULL && a[0] != '\0' && strcasecmp(a, b) == 0;
}

enum risk_level
risk_assess(const struct risk_input *in, unsigned *reasons)
{
    unsigned r = 0;
    char mine[128], theirs[128];
    int velocity =
        in->n_email_recent > in->n_phone_recent ? in->n_email_recent : in->n_phone_recent;
    enum risk_level level = RISK_LOW;

    if (risk_email_disposable(in->email))
        r |= RISK_R_DISPOSABLE;
    if (velocity >= VELOCITY_HIGH)
        r |= RISK_R_VELOCITY_HIGH;
    else if (velocity >= VELOCITY_MEDIUM)
        r |= RISK_R_VELOCITY_MED;
    if (in->n_history >= AMOUNT_MIN_HIST && in->mean_amount > 0) {
        if (in->amount / AMOUNT_HIGH_X > in->mean_amount)
            r |= RISK_R_AMOUNT_HIGH;
        else if (in->amount / AMOUNT_MEDIUM_X > in->mean_amount)
            r |= RISK_R_AMOUNT_MED;
    }
    local_norm(in->email, mine, sizeof mine);
    for (size_t i = 0; i < in->n_peers; i++) {
        const struct risk_peer *p = &in->peers[i];
        if (same_text(in->first_name, p->first_name) && same_text(in->last_name, p->last_name))
            r |= RISK_R_PEER_NAME;
        if (same_text(in->phone, p->phone))
            r |= RISK_R_PEER_PHONE;
        local_norm(p->email, theirs, sizeof theirs);
        if (mine[0] != '\0' && strcmp(mine, theirs) == 0)
            r |= RISK_R_PEER_EMAIL;
        else if (same_text(domain_of(in->email), domain_of(p->email)) &&
                 !risk_email_webmail(in->email))
            r |= RISK_R_PEER_DOMAIN;
    }
    if (r & (RISK_R_VELOCITY_MED | RISK_R_AMOUNT_MED | RISK_R_PEER_DOMAIN))
        level = RISK_MEDIUM;
    if (r & (RISK_R_DISPOSABLE | RISK_R_VELOCITY_HIGH | RISK_R_AMOUNT_HIGH | RISK_R_PEER_PHONE |
             RISK_R_PEER_EMAIL))
        level = RISK_HIGH;
    if (r & RISK_R_PEER_NAME)
        level = RISK_HIGHEST;
    if (reasons != NULL)
        *reasons = r;
    return level;
}

const char *
risk_level_name(enum risk_level l)
{
    static const char *const names[] = {"LOW", "MEDIUM", "HIGH", "HIGHEST"};

    return (unsigned)l < 4 ? names[l] : "LOW";
}
