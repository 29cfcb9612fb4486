/* A small JSON reader for `segloss merge`: the whole text in one buffer,
 * parsed (RFC 8259, strict: no comments, no trailing commas, no NaN) into
 * a tree of values. Numbers and strings keep a pointer to their token as
 * written, so that a value can be copied out byte for byte (merge copies
 * the per-case objects and the numbers that eval printed, instead of
 * reformatting them). Nothing here is part of the library. */
#ifndef SEGLOSS_CLI_JSON_READ_H
#define SEGLOSS_CLI_JSON_READ_H

#include <stddef.h>
#include <stdio.h>

typedef enum json_kind { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ } json_kind;

typedef struct json_val json_val;
struct json_val {
    json_kind kind;
    const char *raw;   /* the token in the text: a number, a string with its quotes, */
    size_t len;        /* true/false/null; for arrays and objects their first byte */
    size_t n;          /* ARR, OBJ: number of items */
    json_val *items;   /* ARR: the items; OBJ: the values */
    json_val *keys;    /* OBJ: the keys (JSON_STR), keys[i] names items[i] */
};

/* Parses text[0..len) into *root (the text must outlive the tree). On a
 * syntax error returns -1 and writes "line L, column C: problem" into err;
 * -2 when out of memory. Nesting deeper than 64 levels is an error. */
int json_parse(json_val *root, const char *text, size_t len, char *err, size_t errlen);
void json_free(json_val *v);

/* The value under `key` in an object (the first, if repeated), or NULL
 * (also when v is NULL or not an object). */
const json_val *json_get(const json_val *v, const char *key);

/* The decoded text of a JSON_STR (escapes resolved, \u as UTF-8), malloc'd;
 * NULL when out of memory or the string holds a \u0000. */
char *json_str_dup(const json_val *v);

/* Nonzero when two JSON_STR tokens have the same decoded text. */
int json_str_eq(const json_val *a, const json_val *b);

/* The whole of a part's file, malloc'd into *text (exit code, after the
 * message naming the file). */
int json_read_file(const char *path, char **text, size_t *len);

/* A number, or null as NaN, into *out: 0; -1 for anything else. */
int json_number(const json_val *v, double *out);

/* Writes v without insignificant white space: numbers, strings and
 * literals as written in the text. Compact input comes out unchanged. */
void json_write_compact(FILE *f, const json_val *v);

#endif
