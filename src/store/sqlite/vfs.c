/* SPDX-License-Identifier: MIT */
/*
 * vfs.c -- a thin SQLite VFS over the default one that gathers the writes of a commit to
 * the WAL into few large pwrite calls.
 *
 * SQLite appends a commit to the WAL as two writes per page (a 24-byte frame header, then
 * the page): a group commit of a few hundred pages was hundreds of system calls, the
 * committer's largest cost after the fsync. Here contiguous writes to a WAL file are kept
 * in a buffer and written (in calls of at most 64 KiB) before anything that needs them on
 * the file: the xSync that ends the commit, a read, a size query, a truncation, a
 * non-contiguous write, a full buffer, or the close. A failed write is reported by that
 * call, so a full disk still fails the COMMIT.
 *
 * Why this is safe: SQLite makes WAL frames visible to readers (the wal-index header) only
 * after the commit's xSync, as long as the connection that writes syncs at every commit:
 * store_sqlite.c opens the writer with synchronous=FULL (readers and the checkpointer
 * never write the WAL). The database file is not gathered: a checkpoint may advance its
 * mark after its last page write without any sync, and its file controls' results are
 * ignored, so a deferred failure there could not be reported. Every file but the WAL is
 * the default VFS's own.
 */
#include "store/sqlite/store_sqlite_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MAX   (8 << 20) /* pending bytes at most; a longer run is written at once */
#define WRITE_MAX 65536     /* bytes per write call: the default VFS takes at most 128 KiB - 1 */
#define HDR       ((sizeof(struct gather_file) + 15) / 16 * 16) /* the real file starts here */

struct gather_file {
    sqlite3_file base;  /* pMethods: gather_methods */
    sqlite3_file *real; /* the default VFS's file, HDR bytes in */
    char *buf;          /* pending bytes, to be written at off */
    size_t len, cap;
    sqlite3_int64 off;
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs shim_vfs;

#define REAL(f) (((struct gather_file *)(f))->real)

/* Writes n bytes at off in calls of at most WRITE_MAX. */
static int
write_all(sqlite3_file *real, const char *p, size_t n, sqlite3_int64 off)
{
    int rc = SQLITE_OK;
    size_t k;

    for (; rc == SQLITE_OK && n > 0; p += k, off += (sqlite3_int64)k, n -= k) {
        k = n < WRITE_MAX ? n : WRITE_MAX;
        rc = real->pMethods->xWrite(real, p, (int)k, off);
    }
    return rc;
}

/* Writes the pending bytes. On failure they are dropped (SQLite writes the frames again
 * when it retries the transaction) and the error is returned. */
static int
flush(struct gather_file *f)
{
    int rc = write_all(f->real, f->buf, f->len, f->off);

    f->len = 0;
    return rc;
}

static int
w_close(sqlite3_file *file)
{
    struct gather_file *f = (struct gather_file *)file;
    int rc = flush(f), rc2 = f->real->pMethods->xClose(f->real);

    free(f->buf);
    f->buf = NULL;
    f->cap = 0;
    return rc != SQLITE_OK ? rc : rc2;
}

static int
w_read(sqlite3_file *file, void *out, int amt, sqlite3_int64 off)
{
    int rc = flush((struct gather_file *)file);

    return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xRead(REAL(file), out, amt, off);
}

/* Appends to the pending run when contiguous and within BUF_MAX; else writes it. */
static int
w_write(sqlite3_file *file, const void *data, int amt, sqlite3_int64 off)
{
    struct gather_file *f = (struct gather_file *)file;
    size_t n = (size_t)amt, cap;
    char *grown;
    int rc;

    if (f->len > 0 && (off != f->off + (sqlite3_int64)f->len || f->len + n > BUF_MAX)) {
        if ((rc = flush(f)) != SQLITE_OK)
            return rc;
    }
    if (n > BUF_MAX)
        return write_all(f->real, data, n, off);
    if (f->len + n > f->cap) {
        for (cap = f->cap > 0 ? f->cap : 64 * 1024; cap < f->len + n;)
            cap *= 2;
        grown = realloc(f->buf, cap);
        if (grown == NULL) {
            if ((rc = flush(f)) != SQLITE_OK)
                return rc;
            return write_all(f->real, data, n, off);
        }
        f->buf = grown;
        f->cap = cap;
    }
    if (f->len == 0)
        f->off = off;
    memcpy(f->buf + f->len, data, n);
    f->len += n;
    return SQLITE_OK;
}

static int
w_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    int rc = flush((struct gather_file *)file);

    return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xTruncate(REAL(file), size);
}

static int
w_sync(sqlite3_file *file, int flags)
{
    int rc = flush((struct gather_file *)file);

    return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xSync(REAL(file), flags);
}

static int
w_size(sqlite3_file *file, sqlite3_int64 *size)
{
    int rc = flush((struct gather_file *)file);

    return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xFileSize(REAL(file), size);
}

static int
w_lock(sqlite3_file *file, int lock)
{
    return REAL(file)->pMethods->xLock(REAL(file), lock);
}

static int
w_unlock(sqlite3_file *file, int lock)
{
    return REAL(file)->pMethods->xUnlock(REAL(file), lock);
}

static int
w_reserved(sqlite3_file *file, int *out)
{
    return REAL(file)->pMethods->xCheckReservedLock(REAL(file), out);
}

static int
w_fcntl(sqlite3_file *file, int op, void *arg)
{
    return REAL(file)->pMethods->xFileControl(REAL(file), op, arg);
}

static int
w_sector(sqlite3_file *file)
{
    return REAL(file)->pMethods->xSectorSize(REAL(file));
}

static int
w_devchar(sqlite3_file *file)
{
    return REAL(file)->pMethods->xDeviceCharacteristics(REAL(file));
}

static int
w_shmmap(sqlite3_file *file, int region, int size, int extend, void volatile **out)
{
    return REAL(file)->pMethods->xShmMap(REAL(file), region, size, extend, out);
}

static int
w_shmlock(sqlite3_file *file, int offset, int n, int flags)
{
    return REAL(file)->pMethods->xShmLock(REAL(file), offset, n, flags);
}

static void
w_shmbarrier(sqlite3_file *file)
{
    REAL(file)->pMethods->xShmBarrier(REAL(file));
}

static int
w_shmunmap(sqlite3_file *file, int del)
{
    return REAL(file)->pMethods->xShmUnmap(REAL(file), del);
}

static int
w_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **out)
{
    int rc = flush((struct gather_file *)file);

    return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xFetch(REAL(file), off, amt, out);
}

static int
w_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
    return REAL(file)->pMethods->xUnfetch(REAL(file), off, p);
}

static const sqlite3_io_methods gather_methods = {
    3,         w_close,      w_read,     w_write, w_truncate, w_sync,    w_size,
    w_lock,    w_unlock,     w_reserved, w_fcntl, w_sector,   w_devchar, w_shmmap,
    w_shmlock, w_shmbarrier, w_shmunmap, w_fetch, w_unfetch,
};

/* A WAL file gets the gathering methods; every other file is the default VFS's own. */
static int
shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
    struct gather_file *f = (struct gather_file *)file;
    int rc;

    (void)vfs;
    if (!(flags & SQLITE_OPEN_WAL))
        return real_vfs->xOpen(real_vfs, name, file, flags, out_flags);
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)((char *)f + HDR);
    rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK || f->real->pMethods == NULL || f->real->pMethods->iVersion < 3) {
        if (rc == SQLITE_OK) {
            f->real->pMethods->xClose(f->real);
            rc = SQLITE_CANTOPEN;
        }
        f->base.pMethods = NULL;
        return rc;
    }
    f->base.pMethods = &gather_methods;
    return SQLITE_OK;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
shim_register(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    if (real_vfs == NULL)
        return;
    shim_vfs = *real_vfs;
    shim_vfs.zName = STORE_SQLITE_VFS;
    shim_vfs.pNext = NULL;
    /* room for our header before the default file (kept pointer-aligned) */
    shim_vfs.szOsFile = (int)HDR + real_vfs->szOsFile;
    shim_vfs.xOpen = shim_open;
    if (sqlite3_vfs_register(&shim_vfs, 0) != SQLITE_OK)
        real_vfs = NULL;
}

int
store_sqlite_vfs_init(void)
{
    pthread_once(&once, shim_register);
    return real_vfs != NULL ? 0 : -1;
}
