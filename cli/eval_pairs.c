/* segloss eval: which prediction is compared with which reference.
 *
 * Two files make one case. Two directories are walked recursively; a case
 * is a relative name (same sub-directories, same file name, extension
 * included) present in both trees. Only .png, .nii, .nii.gz and .npy files
 * take part; names starting with '.' (hidden files, macOS "._" resource
 * forks) are skipped, and symbolic links are followed. Cases are sorted by
 * relative name, byte by byte (the C locale's order), so the output does
 * not depend on the order the file system lists entries in. */
#include "eval.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Deeper than any real data set; stops a symbolic-link loop. */
#define WALK_MAX_DEPTH 40

typedef struct strlist {
    char **v;
    int64_t n, cap;
} strlist;

static void strlist_free(strlist *l) {
    for (int64_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static int strlist_push(strlist *l, char *s) {
    if (!s) return -1;
    if (l->n == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) {
            free(s);
            return -1;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 0;
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* "a" + "/" + "b"; b == "" gives a copy of a. */
static char *join(const char *a, const char *b) {
    if (!*b) return xstrdup(a);
    size_t na = strlen(a), nb = strlen(b);
    int slash = na > 0 && a[na - 1] != '/';
    char *s = malloc(na + (size_t)slash + nb + 1);
    if (!s) return NULL;
    memcpy(s, a, na);
    if (slash) s[na] = '/';
    memcpy(s + na + (size_t)slash, b, nb + 1);
    return s;
}

void eval_msg(char **buf, const char *fmt, ...) {
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t old = *buf ? strlen(*buf) : 0, add = strlen(line);
    char *s = realloc(*buf, old + add + 11);
    if (!s) return;
    memcpy(s + old, "segloss: ", 9);
    memcpy(s + old + 9, line, add);
    s[old + 9 + add] = '\n';
    s[old + 10 + add] = '\0';
    *buf = s;
}

static int oom(void) {
    cli_error("out of memory");
    return CLI_INTERNAL;
}

/* Adds the relative names of the image files under root/rel to out. */
static int walk(strlist *out, const char *root, const char *rel, int depth) {
    char *dir = join(root, rel);
    if (!dir) return oom();
    if (depth > WALK_MAX_DEPTH) {
        cli_error("%s: directories nested more than %d deep (a symbolic-link loop?)", dir,
                  WALK_MAX_DEPTH);
        free(dir);
        return CLI_INPUT;
    }
    DIR *d = opendir(dir);
    if (!d) {
        cli_error("%s: cannot open directory: %s", dir, strerror(errno));
        free(dir);
        return CLI_INPUT;
    }
    /* Entries first, then recursion: one open directory per level at most
     * while the list is read. */
    strlist names = {0};
    int rc = CLI_OK;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno) {
                cli_error("%s: cannot read directory: %s", dir, strerror(errno));
                rc = CLI_INPUT;
            }
            break;
        }
        if (e->d_name[0] == '.') continue;
        if (strlist_push(&names, xstrdup(e->d_name))) {
            rc = oom();
            break;
        }
    }
    closedir(d);
    for (int64_t i = 0; i < names.n && rc == CLI_OK; i++) {
        char *sub = join(rel, names.v[i]);
        char *full = sub ? join(root, sub) : NULL;
        struct stat st;
        if (!full) {
            rc = oom();
        } else if (stat(full, &st) != 0) {
            /* A dangling link or a file that vanished: name it. */
            cli_error("%s: %s", full, strerror(errno));
            rc = CLI_INPUT;
        } else if (S_ISDIR(st.st_mode)) {
            rc = walk(out, root, sub, depth + 1);
        } else if (S_ISREG(st.st_mode) &&
                   segloss_image_format_from_path(names.v[i]) != SEGLOSS_IMAGE_UNKNOWN) {
            if (strlist_push(out, sub)) rc = oom();
            sub = NULL;
        }
        free(full);
        free(sub);
    }
    strlist_free(&names);
    free(dir);
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The root without trailing slashes ("/" stays "/"). */
static char *trim_root(const char *p) {
    char *s = xstrdup(p);
    if (!s) return NULL;
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/') s[--n] = '\0';
    return s;
}

/* Appends a case; on failure (-1) pred and ref stay the caller's. */
static int push_case(eval_cases *cs, int64_t *cap, const char *name, char *pred, char *ref) {
    char *nm = xstrdup(name);
    if (!nm) return -1;
    if (cs->n == *cap) {
        int64_t nc = *cap ? 2 * *cap : 64;
        eval_case *v = realloc(cs->v, (size_t)nc * sizeof *v);
        if (!v) {
            free(nm);
            return -1;
        }
        cs->v = v;
        *cap = nc;
    }
    eval_case *k = &cs->v[cs->n++];
    memset(k, 0, sizeof *k);
    k->name = nm;
    k->pred = pred;
    k->ref = ref;
    return 0;
}

static int pair_dirs(eval_cases *out, const eval_cfg *c) {
    strlist p = {0}, r = {0};
    char *proot = trim_root(c->pred), *rroot = trim_root(c->ref);
    int rc = proot && rroot ? CLI_OK : oom();
    if (rc == CLI_OK) rc = walk(&p, proot, "", 0);
    if (rc == CLI_OK) rc = walk(&r, rroot, "", 0);
    if (rc == CLI_OK && p.n == 0 && r.n == 0) {
        cli_error("no .png, .nii, .nii.gz or .npy files under %s or %s", c->pred, c->ref);
        rc = CLI_INPUT;
    }
    if (rc == CLI_OK) {
        if (p.n) qsort(p.v, (size_t)p.n, sizeof *p.v, cmp_str);
        if (r.n) qsort(r.v, (size_t)r.n, sizeof *r.v, cmp_str);
    }
    int64_t i = 0, j = 0, cap = 0;
    while (rc == CLI_OK && (i < p.n || j < r.n)) {
        int cmp = i == p.n ? 1 : j == r.n ? -1 : strcmp(p.v[i], r.v[j]);
        const char *name = cmp <= 0 ? p.v[i] : r.v[j];
        char *pp = cmp <= 0 ? join(proot, name) : NULL;
        char *rp = cmp >= 0 ? join(rroot, name) : NULL;
        if ((cmp <= 0 && !pp) || (cmp >= 0 && !rp) || push_case(out, &cap, name, pp, rp)) {
            free(pp);
            free(rp);
            rc = oom();
            break;
        }
        eval_case *k = &out->v[out->n - 1];
        char *expect = cmp < 0 ? join(rroot, name) : cmp > 0 ? join(proot, name) : NULL;
        if (cmp < 0) {
            k->rc = CLI_INPUT;
            eval_msg(&k->err, "%s: prediction without reference (no %s)", pp,
                     expect ? expect : name);
        } else if (cmp > 0 && !c->allow_missing) {
            k->rc = CLI_INPUT;
            eval_msg(&k->err,
                     "%s: reference without prediction (no %s; --allow-missing scores it "
                     "as an empty prediction)",
                     rp, expect ? expect : name);
        }
        free(expect);
        i += cmp <= 0;
        j += cmp >= 0;
    }
    strlist_free(&p);
    strlist_free(&r);
    free(proot);
    free(rroot);
    return rc;
}

int eval_pairs(eval_cases *out, const eval_cfg *c) {
    memset(out, 0, sizeof *out);
    struct stat sp, sr;
    if (stat(c->pred, &sp) != 0) {
        cli_error("%s: %s", c->pred, strerror(errno));
        return CLI_INPUT;
    }
    if (stat(c->ref, &sr) != 0) {
        cli_error("%s: %s", c->ref, strerror(errno));
        return CLI_INPUT;
    }
    int pd = S_ISDIR(sp.st_mode), rd = S_ISDIR(sr.st_mode);
    if (pd != rd) {
        cli_error("eval: --pred %s is a %s but --ref %s is a %s (give two files or two "
                  "directories)",
                  c->pred, pd ? "directory" : "file", c->ref, rd ? "directory" : "file");
        return CLI_USAGE;
    }
    if (pd) {
        out->dirs = 1;
        int rc = pair_dirs(out, c);
        if (rc) eval_cases_free(out);
        return rc;
    }
    int64_t cap = 0;
    char *pp = xstrdup(c->pred), *rp = xstrdup(c->ref);
    if (!pp || !rp || push_case(out, &cap, c->pred, pp, rp)) {
        free(pp);
        free(rp);
        eval_cases_free(out);
        return oom();
    }
    return CLI_OK;
}

void eval_case_free(eval_case *k) {
    eval_instances_free(k);
    free(k->name);
    free(k->pred);
    free(k->ref);
    free(k->err);
    free(k->warn);
    free(k->res);
    memset(k, 0, sizeof *k);
}

void eval_cases_free(eval_cases *cs) {
    for (int64_t i = 0; i < cs->n; i++) eval_case_free(&cs->v[i]);
    free(cs->v);
    memset(cs, 0, sizeof *cs);
}
