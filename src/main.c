/* SPDX-License-Identifier: MIT */
/*
 * main.c -- the command line (DESIGN.md's contract): serve, org create|set|show,
 * key, audit, export, import (cli_io.c), migrate. Parses arguments and environment, opens the
 * store, and starts or stops the server; nothing else. Exit codes: 0 ok, 1 failure, 2 usage.
 */
#include "core/app.h"
#include "core/auth.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/jsonx.h"
#include "core/limits.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/ratelimit.h"
#include "core/settings.h"
#include "core/svc.h"
#include "api/api.h"
#include "cli_io.h"
#include "http/http.h"
#include "store/store.h"

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_DB     "sqlite:./data/orderd.db"
#define DEFAULT_LISTEN "127.0.0.1:8080"
#define MAX_ARGS       64
#define MAX_LISTENERS  8

struct opts {
    const char *db;
    const char *listen;
    const char *master_key;
    const char *name;
    const char *tls_cert, *tls_key;
    const char *mode, *kind, *expires_in, *limit;
    const char *org;                           /* export, import: --org */
    bool json_ok;                              /* set before parsing: the command knows --json */
    bool json;                                 /* import: --json */
    const char *dialect_listen[MAX_LISTENERS]; /* "NAME=ADDR:PORT" */
    int n_dialect_listen;
    const char *args[MAX_ARGS]; /* positional arguments after the subcommand words */
    int n_args;
};

static int
usage(void)
{
    fprintf(stderr,
            "usage: orderd serve [--listen ADDR:PORT] [--dialect-listen NAME=ADDR:PORT]...\n"
            "                    [--tls-cert FILE --tls-key FILE] [--db URL] [--master-key FILE]\n"
            "       orderd org create --name NAME [--db URL]\n"
            "       orderd org set ORG_ID KEY=VALUE... [--db URL]\n"
            "       orderd org show ORG_ID [--db URL]\n"
            "       orderd key roll ORG_ID --mode test|live --kind secret|publishable\n"
            "                       [--expires-in DURATION]   (old keys' grace: 24h by default)\n"
            "       orderd key revoke ORG_ID KEY_ID\n"
            "       orderd audit ORG_ID [--limit N]\n"
            "       orderd export --org ORG [--mode test|live] > FILE\n"
            "       orderd import --org ORG [--mode test|live] [--json] FILE|-\n"
            "                     (--mode: test by default)\n"
            "       orderd migrate [--db URL]\n"
            "  --db sqlite:PATH (default %s) or postgres://...; env ORDERD_DB\n"
            "  --listen ADDR:PORT (default %s); env ORDERD_LISTEN\n"
            "  --master-key FILE (default: master.key beside the SQLite file, or\n"
            "    ./data/master.key); env ORDERD_MASTER_KEY_FILE\n"
            "  --dialect-listen NAME=ADDR:PORT serves one API alone at its vendor's paths\n"
            "    (NAME: %s)\n"
            "org settings:\n%s",
            DEFAULT_DB, DEFAULT_LISTEN, api_dialect_names(), settings_help());
    return 2;
}

/* Collects --db/--listen/--master-key/--name anywhere; the rest are positionals. */
static int
parse_opts(int argc, char **argv, int first, struct opts *o)
{
    const struct {
        const char *flag;
        const char **dst;
    } flags[] = {
        {"--db", &o->db},
        {"--listen", &o->listen},
        {"--master-key", &o->master_key},
        {"--name", &o->name},
        {"--mode", &o->mode},
        {"--kind", &o->kind},
        {"--expires-in", &o->expires_in},
        {"--limit", &o->limit},
        {"--org", &o->org},
        {"--tls-cert", &o->tls_cert},
        {"--tls-key", &o->tls_key},
    };

    for (int i = first; i < argc; i++) {
        const char **dst = NULL;
        for (size_t f = 0; f < sizeof flags / sizeof flags[0] && dst == NULL; f++)
            if (strcmp(argv[i], flags[f].flag) == 0)
                dst = flags[f].dst;
        if (dst == NULL && strcmp(argv[i], "--dialect-listen") == 0) {
            if (o->n_dialect_listen == MAX_LISTENERS) {
                fprintf(stderr, "orderd: at most %d --dialect-listen\n", MAX_LISTENERS);
                return -1;
            }
            dst = &o->dialect_listen[o->n_dialect_listen++];
        }
        if (dst == NULL && o->json_ok && strcmp(argv[i], "--json") == 0) {
            o->json = true;
            continue;
        }
        if (dst != NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "orderd: %s needs a value\n", argv[i]);
                return -1;
            }
            *dst = argv[++i];
        } else if (strncmp(argv[i], "--", 2) == 0) {
            fprintf(stderr, "orderd: unknown option %s\n", argv[i]);
            return -1;
        } else if (o->n_args < MAX_ARGS) {
            o->args[o->n_args++] = argv[i];
        }
    }
    if (o->db == NULL)
        o->db = getenv("ORDERD_DB") ? getenv("ORDERD_DB") : DEFAULT_DB;
    if (o->listen == NULL)
        o->listen = getenv("ORDERD_LISTEN") ? getenv("ORDERD_LISTEN") : DEFAULT_LISTEN;
    if (o->master_key == NULL)
        o->master_key = getenv("ORDERD_MASTER_KEY_FILE");
    return 0;
}

/* mkdir -p for the directory of a file path. */
static int
make_parent_dirs(const char *file)
{
    char path[4096];
    size_t n = strlen(file);

    if (n >= sizeof path)
        return -1;
    memcpy(path, file, n + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

/* Opens the store (creating the SQLite directory), migrates, loads the master key. */
static struct store *
open_all(struct opts *o, struct app *app)
{
    char err[512] = "", keypath[4096];
    struct store *s = NULL;

    if (strncmp(o->db, "sqlite:", 7) == 0 && make_parent_dirs(o->db + 7) != 0) {
        fprintf(stderr, "orderd: cannot create the directory of %s\n", o->db + 7);
        return NULL;
    }
    if (o->master_key != NULL) {
        snprintf(keypath, sizeof keypath, "%s", o->master_key);
    } else if (strncmp(o->db, "sqlite:", 7) == 0) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s", o->db + 7);
        snprintf(keypath, sizeof keypath, "%s/master.key", dirname(tmp));
    } else {
        snprintf(keypath, sizeof keypath, "./data/master.key");
        make_parent_dirs(keypath);
    }
    if (crypto_master_load(keypath, app->master, err, sizeof err) != 0) {
        fprintf(stderr, "orderd: %s\n", err);
        return NULL;
    }
    s = store_open(o->db, err, sizeof err);
    if (s == NULL) {
        fprintf(stderr, "orderd: %s\n", err);
        return NULL;
    }
    if (s->ops->migrate(s, err, sizeof err) != 0) {
        fprintf(stderr, "orderd: %s\n", err);
        store_close(s);
        return NULL;
    }
    app->store = s;
    return s;
}

/* Who runs this command, for the audit log. */
static void
audit_fill(struct audit_row *a, const char *org_id, const char *action, struct jsonx *detail)
{
    const char *user = getenv("SUDO_USER") ? getenv("SUDO_USER") : getenv("USER");

    memset(a, 0, sizeof *a);
    snprintf(a->org_id, sizeof a->org_id, "%s", org_id);
    a->created_ms = clock_now_ms();
    ids_uuid7(a->created_ms, a->id);
    if (user != NULL)
        snprintf(a->actor, sizeof a->actor, "cli:%s", user);
    else
        snprintf(a->actor, sizeof a->actor, "cli:uid %u", (unsigned)getuid());
    snprintf(a->action, sizeof a->action, "%s", action);
    a->detail = jsonx_dump(detail, NULL);
    jsonx_free(detail);
}

/* "90s", "10m", "24h", "7d" or "0" -> milliseconds; -1 when malformed. */
static int64_t
parse_duration(const char *s)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    int64_t unit;

    if (end == s || v < 0 || v > 100000)
        return -1;
    if (*end == '\0' && v == 0)
        return 0;
    if (strcmp(end, "s") == 0)
        unit = 1000;
    else if (strcmp(end, "m") == 0)
        unit = 60 * 1000;
    else if (strcmp(end, "h") == 0)
        unit = 3600 * 1000;
    else if (strcmp(end, "d") == 0)
        unit = 86400 * 1000;
    else
        return -1;
    return (int64_t)v * unit;
}

/* Opens the store and finds the org named by the first argument. NULL, with a message
 * printed, when either fails. */
static struct store *
open_org(struct opts *o, struct app *app, struct org_rec *org)
{
    struct store *s = open_all(o, app);

    memset(org, 0, sizeof *org);
    if (s != NULL && s->ops->org_get(s, o->args[0], org) != STORE_OK) {
        fprintf(stderr, "orderd: no org %s\n", o->args[0]);
        org_rec_free(org);
        store_close(s);
        s = NULL;
    }
    return s;
}

static int
cmd_migrate(struct opts *o)
{
    struct app app = {0};
    struct store *s = open_all(o, &app);

    if (s == NULL)
        return 1;
    store_close(s);
    printf("{\"migrated\":true}\n");
    return 0;
}

/* Sets key to the RFC 3339 time of ms, or null when ms is 0. */
static void
set_time(struct jsonx *o, const char *key, int64_t ms)
{
    char ts[CLOCK_RFC3339_LEN];

    if (ms == 0) {
        jsonx_set_null(o, key);
        return;
    }
    clock_format_ms(ms, ts);
    jsonx_set_str(o, key, ts);
}

static void
print_org(struct store *s, const struct org_rec *org)
{
    struct key_rec *keys = NULL;
    size_t n = 0;
    struct jsonx *doc = jsonx_object(), *arr = jsonx_array(), *settings;
    struct jsonx_error jerr;
    char ts[CLOCK_RFC3339_LEN], *text;

    jsonx_set_str(doc, "id", org->id);
    jsonx_set_str(doc, "uuid", org->uuid);
    jsonx_set_str(doc, "name", org->name);
    clock_format_ms(org->created_ms, ts);
    jsonx_set_str(doc, "created_at", ts);
    settings = jsonx_parse(org->settings, strlen(org->settings), 8, &jerr);
    jsonx_set(doc, "settings", settings ? settings : jsonx_object());
    if (s->ops->org_keys(s, org->id, &keys, &n) == STORE_OK) {
        for (size_t i = 0; i < n; i++) {
            struct jsonx *k = jsonx_object();
            jsonx_set_str(k, "mode", ids_mode_name(keys[i].mode));
            jsonx_set_str(k, "kind", keys[i].kind == KEY_SECRET ? "secret" : "publishable");
            jsonx_set_str(k, "id", keys[i].id);
            jsonx_set_str(k, "key", keys[i].display);
            clock_format_ms(keys[i].created_ms, ts);
            jsonx_set_str(k, "created_at", ts);
            set_time(k, "expires_at", keys[i].expires_ms);
            set_time(k, "revoked_at", keys[i].revoked_ms);
            set_time(k, "last_used_at", keys[i].last_used_ms);
            jsonx_append(arr, k);
            key_rec_free(&keys[i]);
        }
        free(keys);
    }
    jsonx_set(doc, "keys", arr);
    text = jsonx_dump(doc, NULL);
    printf("%s\n", text ? text : "{}");
    free(text);
    jsonx_free(doc);
}

static int
cmd_org_create(struct opts *o)
{
    struct app app = {0};
    struct store *s;
    struct org_rec org = {0};
    struct key_rec keys[4];
    char plain[4][IDS_KEY_LEN];
    struct store_write w = {0};
    struct audit_row audit = {0};
    struct jsonx *doc, *k, *m;
    char *text;
    int rc = 1;

    if (o->name == NULL || o->name[0] == '\0' || strlen(o->name) > 200) {
        fprintf(stderr, "orderd: org create needs --name NAME (1 to 200 characters)\n");
        return 2;
    }
    if ((s = open_all(o, &app)) == NULL)
        return 1;
    ids_org(org.id);
    ids_uuid4(org.uuid);
    org.name = (char *)o->name;
    org.settings = (char *)"{}";
    org.created_ms = clock_now_ms();
    auth_keys_new(&app, org.id, keys, plain);
    w.kind = SW_ORG_INSERT;
    w.org = &org;
    w.keys = keys;
    w.n_keys = 4;
    doc = jsonx_object();
    jsonx_set_str(doc, "name", org.name);
    audit_fill(&audit, org.id, "org.created", doc);
    w.audit = &audit;
    if (store_write_wait(s, &w) != STORE_OK) {
        fprintf(stderr, "orderd: could not store the new org\n");
        goto out;
    }
    doc = jsonx_object();
    jsonx_set_str(doc, "id", org.id);
    jsonx_set_str(doc, "uuid", org.uuid);
    jsonx_set_str(doc, "name", org.name);
    k = jsonx_object();
    for (int i = 0; i < 2; i++) {
        m = jsonx_object();
        jsonx_set_str(m, "publishable", plain[i * 2]);
        jsonx_set_str(m, "secret", plain[i * 2 + 1]);
        jsonx_set(k, i ? "live" : "test", m);
    }
    jsonx_set(doc, "keys", k);
    text = jsonx_dump(doc, NULL);
    printf("%s\n", text ? text : "{}");
    free(text);
    jsonx_free(doc);
    rc = 0;
out:
    free(audit.detail);
    for (int i = 0; i < 4; i++)
        key_rec_free(&keys[i]);
    store_close(s);
    return rc;
}

static int
cmd_org_set(struct opts *o)
{
    struct app app = {0};
    struct store *s;
    struct org_rec org;
    struct store_write w = {0};
    struct audit_row audit = {0};
    struct jsonx *changes = NULL;
    char err[512], *next = NULL;
    int rc = 1;

    if (o->n_args < 2) {
        fprintf(stderr, "orderd: org set needs ORG_ID and at least one KEY=VALUE\n");
        return 2;
    }
    for (int i = 1; i < o->n_args; i++)
        if (strchr(o->args[i], '=') == NULL || o->args[i][0] == '=') {
            fprintf(stderr, "orderd: '%s' is not KEY=VALUE\n", o->args[i]);
            return 2;
        }
    if ((s = open_org(o, &app, &org)) == NULL)
        return 1;
    changes = jsonx_object();
    for (int i = 1; i < o->n_args; i++) {
        char key[128], before[LIMIT_SETTING_LEN], after[LIMIT_SETTING_LEN];
        const char *eq = strchr(o->args[i], '=');
        struct jsonx *change;
        snprintf(key, sizeof key, "%.*s", (int)(eq - o->args[i]), o->args[i]);
        settings_get(org.settings, key, before, sizeof before);
        if (settings_apply(org.settings, key, eq + 1, &next, err, sizeof err) != 0) {
            fprintf(stderr, "orderd: %s\n", err);
            rc = 2;
            goto out;
        }
        free(org.settings);
        org.settings = next;
        settings_get(org.settings, key, after, sizeof after);
        change = jsonx_object();
        jsonx_set_str(change, "from", before[0] ? before : NULL);
        jsonx_set_str(change, "to", after[0] ? after : NULL);
        jsonx_set(changes, key, change);
    }
    audit_fill(&audit, org.id, "setting.changed", changes);
    changes = NULL;
    w.audit = &audit;
    w.kind = SW_ORG_SETTINGS;
    w.org = &org;
    if (store_write_wait(s, &w) != STORE_OK) {
        fprintf(stderr, "orderd: could not store the settings\n");
        goto out;
    }
    print_org(s, &org);
    rc = 0;
out:
    jsonx_free(changes);
    free(audit.detail);
    org_rec_free(&org);
    store_close(s);
    return rc;
}

static int
cmd_org_show(struct opts *o)
{
    struct app app = {0};
    struct store *s;
    struct org_rec org;
    int rc = 1;

    if (o->n_args != 1) {
        fprintf(stderr, "orderd: org show needs ORG_ID\n");
        return 2;
    }
    if ((s = open_org(o, &app, &org)) == NULL)
        return 1;
    print_org(s, &org);
    rc = 0;
    org_rec_free(&org);
    store_close(s);
    return rc;
}

static int
cmd_key_roll(struct opts *o)
{
    struct app app = {0};
    struct store *s;
    struct org_rec org;
    struct key_rec key = {0};
    struct store_write w = {0};
    struct audit_row audit = {0};
    struct jsonx *detail, *out;
    char plain[IDS_KEY_LEN], ts[CLOCK_RFC3339_LEN], *text;
    enum key_mode mode;
    enum key_kind kind;
    int64_t grace = o->expires_in ? parse_duration(o->expires_in) : 24LL * 3600 * 1000;
    int rc = 1;

    if (o->n_args != 1 || o->mode == NULL || o->kind == NULL ||
        (strcmp(o->mode, "test") != 0 && strcmp(o->mode, "live") != 0) ||
        (strcmp(o->kind, "secret") != 0 && strcmp(o->kind, "publishable") != 0) || grace < 0) {
        fprintf(stderr, "orderd: key roll ORG_ID --mode test|live --kind secret|publishable "
                        "[--expires-in 24h|30m|0]\n");
        return 2;
    }
    mode = strcmp(o->mode, "live") == 0 ? MODE_LIVE : MODE_TEST;
    kind = strcmp(o->kind, "secret") == 0 ? KEY_SECRET : KEY_PUBLISHABLE;
    if ((s = open_org(o, &app, &org)) == NULL)
        return 1;
    auth_key_new(&app, org.id, mode, kind, &key, plain);
    w.kind = SW_KEY_ROLL;
    w.keys = &key;
    w.n_keys = 1;
    w.key_grace_until = key.created_ms + grace;
    clock_format_ms(w.key_grace_until, ts);
    detail = jsonx_object();
    jsonx_set_str(detail, "key_id", key.id);
    jsonx_set_str(detail, "mode", o->mode);
    jsonx_set_str(detail, "kind", o->kind);
    jsonx_set_str(detail, "previous_keys_expire_at", ts);
    audit_fill(&audit, org.id, "key.rolled", detail);
    w.audit = &audit;
    if (store_write_wait(s, &w) != STORE_OK) {
        fprintf(stderr, "orderd: could not store the new key\n");
        goto out;
    }
    out = jsonx_object();
    jsonx_set_str(out, "id", key.id);
    jsonx_set_str(out, "key", plain);
    jsonx_set_str(out, "mode", o->mode);
    jsonx_set_str(out, "kind", o->kind);
    jsonx_set_str(out, "previous_keys_expire_at", ts);
    text = jsonx_dump(out, NULL);
    printf("%s\n", text ? text : "{}");
    free(text);
    jsonx_free(out);
    rc = 0;
out:
    free(audit.detail);
    key_rec_free(&key);
    org_rec_free(&org);
    store_close(s);
    return rc;
}

static int
cmd_key_revoke(struct opts *o)
{
    struct app app = {0};
    struct store *s;
    struct org_rec org;
    struct store_write w = {0};
    struct audit_row audit = {0};
    struct jsonx *detail;
    enum store_rc src;
    int rc;

    if (o->n_args != 2) {
        fprintf(stderr, "orderd: key revoke ORG_ID KEY_ID (orderd org show lists key ids)\n");
        return 2;
    }
    if ((s = open_org(o, &app, &org)) == NULL)
        return 1;
    w.kind = SW_KEY_REVOKE;
    snprintf(w.org_id, sizeof w.org_id, "%s", org.id);
    w.key_id = o->args[1];
    detail = jsonx_object();
    jsonx_set_str(detail, "key_id", o->args[1]);
    audit_fill(&audit, org.id, "key.revoked", detail);
    w.audit = &audit;
    src = store_write_wait(s, &w);
    if (src == STORE_NOT_FOUND)
        fprintf(stderr, "orderd: org %s has no active key %s\n", org.id, o->args[1]);
    else if (src != STORE_OK)
        fprintf(stderr, "orderd: could not revoke the key\n");
    else
        printf("{\"revoked\":\"%s\"}\n", o->args[1]);
    rc = src == STORE_OK ? 0 : 1;
    free(audit.detail);
    org_rec_free(&org);
    store_close(s);
    return rc;
}

static int
cmd_audit(struct opts *o)
{
    struct app app = {0};
    struct store *s;
    struct org_rec org;
    struct audit_row *rows = NULL;
    size_t n = 0;
    long limit = o->limit ? strtol(o->limit, NULL, 10) : 100;
    char ts[CLOCK_RFC3339_LEN];
    struct buf b = {0};
    int rc = 1;

    if (o->n_args != 1 || limit < 1 || limit > 10000) {
        fprintf(stderr, "orderd: audit ORG_ID [--limit 1..10000]\n");
        return 2;
    }
    if ((s = open_org(o, &app, &org)) == NULL)
        return 1;
    if (s->ops->audit_list(s, org.id, (int)limit, &rows, &n) != STORE_OK) {
        fprintf(stderr, "orderd: could not read the audit log\n");
        goto out;
    }
    /* one JSON object per line, newest first */
    for (size_t i = 0; i < n; i++) {
        clock_format_ms(rows[i].created_ms, ts);
        buf_printf(&b, "{\"id\":\"%s\",\"at\":\"%s\",\"actor\":", rows[i].id, ts);
        jsonx_quote(&b, rows[i].actor);
        buf_printf(&b, ",\"action\":\"%s\",\"detail\":%s}\n", rows[i].action, rows[i].detail);
    }
    if (n > 0 && buf_cstr(&b) != NULL)
        fputs(b.data, stdout);
    rc = 0;
out:
    buf_free(&b);
    audit_rows_free(rows, n);
    org_rec_free(&org);
    store_close(s);
    return rc;
}

/* export and import: --org ORG [--mode test|live]; FILE for import. */
static int
cmd_export_import(struct opts *o, bool import)
{
    struct app app = {0};
    struct store *s;
    struct org_rec org;
    enum key_mode mode = o->mode != NULL && strcmp(o->mode, "live") == 0 ? MODE_LIVE : MODE_TEST;
    int rc = 1;

    if (o->org == NULL || o->n_args != (import ? 1 : 0) || (o->json && !import) ||
        (o->mode != NULL && strcmp(o->mode, "test") != 0 && strcmp(o->mode, "live") != 0)) {
        fprintf(stderr, import ? "orderd: import --org ORG [--mode test|live] [--json] FILE|-\n"
                               : "orderd: export --org ORG [--mode test|live]\n");
        return 2;
    }
    if ((s = open_all(o, &app)) == NULL)
        return 1;
    if (s->ops->org_get(s, o->org, &org) != STORE_OK) {
        fprintf(stderr, "orderd: no org %s\n", o->org);
    } else {
        rc = import ? cli_import(&app, org.id, mode, o->args[0], o->json)
                    : cli_export(&app, org.id, mode);
        org_rec_free(&org);
    }
    store_close(s);
    return rc;
}

/* Reads a whole PEM file into a new string (caller frees), or NULL. */
static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < 1024 * 1024 &&
        fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)n + 1)) != NULL) {
        if (fread(data, 1, (size_t)n, f) != (size_t)n) {
            free(data);
            data = NULL;
        } else {
            data[n] = '\0';
        }
    }
    fclose(f);
    return data;
}

/* Checks the listener options; fills tls with the PEM texts when TLS is on. */
static int
serve_check(struct opts *o, struct http_tls *tls)
{
    if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
        fprintf(stderr, "orderd: --tls-cert and --tls-key go together\n");
        return 2;
    }
    if (o->tls_cert != NULL) {
        tls->cert = read_file(o->tls_cert);
        tls->key = read_file(o->tls_key);
        if (tls->cert == NULL || tls->key == NULL) {
            fprintf(stderr, "orderd: cannot read %s\n", tls->cert ? o->tls_key : o->tls_cert);
            return 1;
        }
    }
    for (int i = 0; i < o->n_dialect_listen; i++) {
        const char *eq = strchr(o->dialect_listen[i], '=');
        char name[32];
        if (eq == NULL || eq - o->dialect_listen[i] >= (long)sizeof name) {
            fprintf(stderr, "orderd: --dialect-listen wants NAME=ADDR:PORT\n");
            return 2;
        }
        snprintf(name, sizeof name, "%.*s", (int)(eq - o->dialect_listen[i]), o->dialect_listen[i]);
        if (api_dialect_find(name) == NULL || strcmp(name, "v1") == 0) {
            fprintf(stderr, "orderd: --dialect-listen: unknown API '%s' (known: %s)\n", name,
                    api_dialect_names());
            return 2;
        }
    }
    return 0;
}

static int
cmd_serve(struct opts *o)
{
    struct app app = {0};
    struct store *s = NULL;
    struct http_server *h[MAX_LISTENERS + 1] = {0};
    struct http_tls tls = {0};
    char err[512];
    sigset_t set;
    int sig = 0, n = 0, rc;
    bool jobs = false;
    const char *al = getenv("ORDERD_ACCESS_LOG");

    if (o->n_args != 0)
        return usage();
    if ((rc = serve_check(o, &tls)) != 0)
        goto out;
    /* block the stop signals before any thread starts, then wait for them here */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = 1;
    if ((s = open_all(o, &app)) == NULL)
        goto out;
    app.access_log = al == NULL || strcmp(al, "0") != 0;
    app.inflight = svc_inflight_new();
    app.ratelimit = ratelimit_new();
    if (app.inflight == NULL || app.ratelimit == NULL)
        goto out;
    if (api_start_all(&app) != 0) {
        fprintf(stderr, "orderd: an API's background work failed to start\n");
        goto out;
    }
    jobs = true;
    /* the APIs' own listeners first: once the main one answers /healthz, all listen */
    for (int i = 0; i < o->n_dialect_listen; i++) {
        const char *eq = strchr(o->dialect_listen[i], '=');
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)(eq - o->dialect_listen[i]), o->dialect_listen[i]);
        h[n] = http_start(&app, eq + 1, api_dialect_find(name)->name, tls.cert ? &tls : NULL, err,
                          sizeof err);
        if (h[n++] == NULL)
            goto fail;
        log_info("orderd: %s API alone on %s", name, eq + 1);
    }
    h[n] = http_start(&app, o->listen, NULL, tls.cert ? &tls : NULL, err, sizeof err);
    if (h[n++] == NULL)
        goto fail;
    store_url_for_log(o->db, err, sizeof err);
    log_info("orderd: listening on %s%s, store %s", o->listen, tls.cert ? " (TLS)" : "", err);
    sigwait(&set, &sig);
    log_info("orderd: signal %d, stopping: finishing in-flight requests", sig);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "orderd: %s\n", err);
out:
    for (int i = 0; i < n; i++)
        http_stop(h[i]);
    if (jobs)
        api_stop_all();
    store_close(s); /* drains the committer */
    svc_inflight_free(app.inflight);
    ratelimit_free(app.ratelimit);
    free(tls.cert);
    free(tls.key);
    if (rc == 0)
        log_info("orderd: stopped");
    return rc;
}

int
main(int argc, char **argv)
{
    struct opts o = {0};
    const char *cmd = argc > 1 ? argv[1] : NULL;
    const char *sub = argc > 2 ? argv[2] : NULL;
    int rc;

    if (cmd == NULL || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        return usage();
    if (crypto_init() != 0) {
        fprintf(stderr, "orderd: libsodium failed to initialise\n");
        return 1;
    }
    if (strcmp(cmd, "serve") == 0 || strcmp(cmd, "migrate") == 0) {
        if (parse_opts(argc, argv, 2, &o) != 0)
            return usage();
        rc = strcmp(cmd, "serve") == 0 ? cmd_serve(&o) : cmd_migrate(&o);
    } else if (strcmp(cmd, "key") == 0 && sub != NULL) {
        if (parse_opts(argc, argv, 3, &o) != 0)
            return usage();
        if (strcmp(sub, "roll") == 0)
            rc = cmd_key_roll(&o);
        else if (strcmp(sub, "revoke") == 0)
            rc = cmd_key_revoke(&o);
        else
            rc = usage();
    } else if (strcmp(cmd, "export") == 0 || strcmp(cmd, "import") == 0) {
        o.json_ok = true;
        if (parse_opts(argc, argv, 2, &o) != 0)
            return usage();
        rc = cmd_export_import(&o, strcmp(cmd, "import") == 0);
    } else if (strcmp(cmd, "audit") == 0) {
        if (parse_opts(argc, argv, 2, &o) != 0)
            return usage();
        rc = cmd_audit(&o);
    } else if (strcmp(cmd, "org") == 0 && sub != NULL) {
        if (parse_opts(argc, argv, 3, &o) != 0)
            return usage();
        if (strcmp(sub, "create") == 0 && o.n_args == 0)
            rc = cmd_org_create(&o);
        else if (strcmp(sub, "set") == 0)
            rc = cmd_org_set(&o);
        else if (strcmp(sub, "show") == 0)
            rc = cmd_org_show(&o);
        else
            rc = usage();
    } else {
        rc = usage();
    }
    return rc;
}
