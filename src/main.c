/* SPDX-License-Identifier: MIT */
/*
 * main.c -- the command line (DESIGN.md's contract): serve, org create|set|show,
 * migrate. Parses arguments and environment, opens the store, and starts or stops the
 * server; nothing else. Exit codes: 0 ok, 1 failure, 2 usage.
 */
#include "core/app.h"
#include "core/auth.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/svc.h"
#include "api/api.h"
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
    for (int i = first; i < argc; i++) {
        const char **dst = NULL;
        if (strcmp(argv[i], "--db") == 0)
            dst = &o->db;
        else if (strcmp(argv[i], "--listen") == 0)
            dst = &o->listen;
        else if (strcmp(argv[i], "--master-key") == 0)
            dst = &o->master_key;
        else if (strcmp(argv[i], "--name") == 0)
            dst = &o->name;
        else if (strcmp(argv[i], "--tls-cert") == 0)
            dst = &o->tls_cert;
        else if (strcmp(argv[i], "--tls-key") == 0)
            dst = &o->tls_key;
        else if (strcmp(argv[i], "--dialect-listen") == 0 && o->n_dialect_listen < MAX_LISTENERS)
            dst = &o->dialect_listen[o->n_dialect_listen++];
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
            jsonx_set_str(k, "key", keys[i].display);
            clock_format_ms(keys[i].created_ms, ts);
            jsonx_set_str(k, "created_at", ts);
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
    if ((s = open_all(o, &app)) == NULL)
        return 1;
    if (s->ops->org_get(s, o->args[0], &org) != STORE_OK) {
        fprintf(stderr, "orderd: no org %s\n", o->args[0]);
        store_close(s);
        return 1;
    }
    for (int i = 1; i < o->n_args; i++) {
        char key[128];
        const char *eq = strchr(o->args[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - o->args[i]), o->args[i]);
        if (settings_apply(org.settings, key, eq + 1, &next, err, sizeof err) != 0) {
            fprintf(stderr, "orderd: %s\n", err);
            rc = 2;
            goto out;
        }
        free(org.settings);
        org.settings = next;
    }
    w.kind = SW_ORG_SETTINGS;
    w.org = &org;
    if (store_write_wait(s, &w) != STORE_OK) {
        fprintf(stderr, "orderd: could not store the settings\n");
        goto out;
    }
    print_org(s, &org);
    rc = 0;
out:
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
    if ((s = open_all(o, &app)) == NULL)
        return 1;
    if (s->ops->org_get(s, o->args[0], &org) == STORE_OK) {
        print_org(s, &org);
        rc = 0;
    } else {
        fprintf(stderr, "orderd: no org %s\n", o->args[0]);
    }
    org_rec_free(&org);
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
    if (app.inflight == NULL)
        goto out;
    if (api_start_all(&app) != 0) {
        fprintf(stderr, "orderd: an API's background work failed to start\n");
        goto out;
    }
    jobs = true;
    h[n] = http_start(&app, o->listen, NULL, tls.cert ? &tls : NULL, err, sizeof err);
    if (h[n++] == NULL)
        goto fail;
    log_info("orderd: listening on %s%s, store %s", o->listen, tls.cert ? " (TLS)" : "", o->db);
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
