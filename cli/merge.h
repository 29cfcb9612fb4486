/* segloss merge --html (merge_cases.c): the one-run page rebuilt from the
 * parts. Nothing here is part of the library. */
#ifndef SEGLOSS_CLI_MERGE_H
#define SEGLOSS_CLI_MERGE_H

#include "eval.h"
#include "json_read.h"

typedef struct merge_page {
    eval_cases cs;                /* every case of the run, failed ones included */
    eval_summary s;
    int summarized;
    eval_cfg c;                   /* metrics, labels named by their keys, argv */
    const json_val *const *keys;  /* the label keys, in merge's (= eval's) order */
    char **argv;                  /* the page's command line */
    int argc;
    char *settings, *version;     /* as the parts recorded them */
} merge_page;

/* From the checked parts (roots, sorted by shard index; paths for the
 * messages), the labels' keys in order, the metrics (the keys of
 * "summary"."mean") and merge's --html FILE. Returns an exit code, after
 * the message; merge_page_free either way. */
int merge_page_build(merge_page *pg, const char *const *paths, const json_val *const *roots,
                     int np, const json_val *const *keys, int64_t n_keys,
                     const json_val *metrics, const char *html);
/* Writes the page (a cli_stage_text writer: 0 or -1). */
int merge_page_write(FILE *f, const void *pg);
void merge_page_free(merge_page *pg);

#endif
