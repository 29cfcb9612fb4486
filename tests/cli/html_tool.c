/* Helper of tests/cli/html.sh (the `segloss eval --html` tests); no
 * segloss code inside, so that it checks the CLI independently.
 *
 *   html_tool tags FILE    well-formedness of the tags a page emits: every
 *                          '<' opens a tag, comment or doctype; every
 *                          non-void element is closed in order (the text of
 *                          <script> and <style> is skipped); every '&'
 *                          starts an entity (&name; &#N; &#xH;). Prints
 *                          "tags N ok" or the first problem (exit 1).
 *   html_tool png FILE     a screenshot's pixels: "size W H colours C
 *                          marks M", C = distinct RGB colours (capped at
 *                          1000), M = saturated pixels (max - min channel
 *                          >= 50: the page draws nothing else in colour
 *                          than the plot's dots).
 *   html_tool gen DIR N    N cases of 32x32 uint8 .npy label maps with
 *                          labels 1..10 in DIR/pred and DIR/ref (both
 *                          directories must exist); label L is missing from
 *                          both files of every case i with (i + L) % 7 == 0,
 *                          and from the prediction when (i + L) % 11 == 0. */
#include <png.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *b2 = realloc(buf, 2 * cap + 1);
            if (!b2) {
                free(buf);
                buf = NULL;
            }
            buf = b2;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    *len = n;
    return buf;
}

static int is_void(const char *name) {
    static const char *const v[] = {"meta", "br", "img", "input", "link", "hr", "wbr", NULL};
    for (int k = 0; v[k]; k++)
        if (strcmp(name, v[k]) == 0) return 1;
    return 0;
}

static int tags(const char *path) {
    size_t len;
    char *s = slurp(path, &len);
    if (!s) {
        printf("tags: cannot read %s\n", path);
        return 1;
    }
    char stack[64][16];
    int depth = 0;
    long count = 0;
    const char *bad = NULL;
    size_t i = 0, at = 0;
    while (i < len && !bad) {
        at = i;
        if (s[i] == '&') {
            size_t j = i + 1;
            if (s[j] == '#') {
                j++;
                if (s[j] == 'x') {
                    j++;
                    while (isxdigit((unsigned char)s[j])) j++;
                } else
                    while (isdigit((unsigned char)s[j])) j++;
            } else
                while (isalnum((unsigned char)s[j])) j++;
            if (s[j] != ';' || j == i + 1) bad = "'&' that starts no entity";
            i = j;
            continue;
        }
        if (s[i] != '<') {
            i++;
            continue;
        }
        if (strncmp(s + i, "<!--", 4) == 0) {
            char *e = strstr(s + i, "-->");
            if (!e) bad = "unclosed comment";
            else i = (size_t)(e - s) + 3;
            continue;
        }
        if (strncmp(s + i, "<!DOCTYPE", 9) == 0) {
            i = (size_t)(strchr(s + i, '>') - s) + 1;
            continue;
        }
        int closing = s[i + 1] == '/';
        size_t j = i + 1 + (size_t)closing, k = 0;
        char name[16];
        while (isalnum((unsigned char)s[j]) && k < sizeof name - 1) name[k++] = (char)s[j++];
        name[k] = '\0';
        if (!k) {
            bad = "'<' that opens no tag";
            break;
        }
        char quote = 0;
        while (s[j] && (quote || s[j] != '>')) {
            if (quote && s[j] == quote) quote = 0;
            else if (!quote && (s[j] == '"' || s[j] == '\'')) quote = s[j];
            else if (s[j] == '<') {
                bad = "'<' inside a tag";
                break;
            }
            j++;
        }
        if (bad) break;
        if (!s[j]) {
            bad = "unterminated tag";
            break;
        }
        int self = s[j - 1] == '/';
        i = j + 1;
        count++;
        if (closing) {
            if (!depth || strcmp(stack[depth - 1], name) != 0) {
                bad = "closing tag that does not match the open element";
                break;
            }
            depth--;
        } else if (!self && !is_void(name)) {
            if (depth == 64) {
                bad = "nesting deeper than 64";
                break;
            }
            strcpy(stack[depth++], name);
            if (strcmp(name, "script") == 0 || strcmp(name, "style") == 0) {
                char end[24];
                snprintf(end, sizeof end, "</%s>", name);
                char *e = strstr(s + i, end);
                if (!e) bad = "unclosed script or style";
                else i = (size_t)(e - s);
            }
        }
    }
    if (!bad && depth) bad = "elements left open at the end";
    if (bad) {
        printf("tags: %s: %s at byte %zu: %.60s\n", path, bad, at, s + at);
        free(s);
        return 1;
    }
    printf("tags %ld ok\n", count);
    free(s);
    return 0;
}

static int png_stats(const char *path) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path)) {
        printf("png: %s: %s\n", path, img.message);
        return 1;
    }
    img.format = PNG_FORMAT_RGB;
    size_t n = (size_t)img.width * img.height;
    unsigned char *px = malloc(n * 3);
    if (!px || !png_image_finish_read(&img, NULL, px, 0, NULL)) {
        printf("png: %s: %s\n", path, px ? img.message : "out of memory");
        free(px);
        return 1;
    }
    static unsigned seen[1000];
    int colours = 0;
    long marks = 0;
    for (size_t p = 0; p < n; p++) {
        const unsigned char *q = px + 3 * p;
        unsigned rgb = (unsigned)q[0] << 16 | (unsigned)q[1] << 8 | q[2];
        int known = 0;
        for (int c = 0; c < colours && !known; c++) known = seen[c] == rgb;
        if (!known && colours < 1000) seen[colours++] = rgb;
        int mx = q[0], mn = q[0];
        for (int c = 1; c < 3; c++) {
            if (q[c] > mx) mx = q[c];
            if (q[c] < mn) mn = q[c];
        }
        marks += mx - mn >= 50;
    }
    printf("size %u %u colours %d marks %ld\n", img.width, img.height, colours, marks);
    free(px);
    return 0;
}

/* A 32x32 uint8 .npy file. */
static int write_npy(const char *path, const unsigned char *v) {
    static const char dict[] = "{'descr': '|u1', 'fortran_order': False, 'shape': (32, 32), }";
    char hdr[128];
    size_t hl = sizeof dict - 1, total = 10 + hl + 1;
    size_t pad = (64 - total % 64) % 64;
    memcpy(hdr, dict, hl);
    memset(hdr + hl, ' ', pad);
    hdr[hl + pad] = '\n';
    unsigned short n = (unsigned short)(hl + pad + 1);
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 0xFF),
                             (unsigned char)(n >> 8)};
    fwrite(pre, 1, 10, f);
    fwrite(hdr, 1, n, f);
    fwrite(v, 1, 32 * 32, f);
    return fclose(f) != 0;
}

static int gen(const char *dir, long ncase) {
    unsigned char ref[32 * 32], pred[32 * 32];
    char path[4096];
    for (long i = 0; i < ncase; i++) {
        memset(ref, 0, sizeof ref);
        memset(pred, 0, sizeof pred);
        for (int l = 1; l <= 10; l++) {
            if ((i + l) % 7 == 0) continue;
            int r0 = ((l - 1) / 5) * 16 + 2, c0 = ((l - 1) % 5) * 6 + 1;
            int shift = (int)((i * 7 + l * 3) % 5) - 2; /* prediction offset, -2..2 */
            for (int r = r0; r < r0 + 10; r++)
                for (int c = c0; c < c0 + 5; c++) {
                    ref[r * 32 + c] = (unsigned char)l;
                    int rp = r + shift;
                    if ((i + l) % 11 && rp >= 0 && rp < 32) pred[rp * 32 + c] = (unsigned char)l;
                }
        }
        snprintf(path, sizeof path, "%s/ref/case%04ld.npy", dir, i);
        if (write_npy(path, ref)) return 1;
        snprintf(path, sizeof path, "%s/pred/case%04ld.npy", dir, i);
        if (write_npy(path, pred)) return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "tags") == 0) return tags(argv[2]);
    if (argc == 3 && strcmp(argv[1], "png") == 0) return png_stats(argv[2]);
    if (argc == 4 && strcmp(argv[1], "gen") == 0) {
        if (gen(argv[2], strtol(argv[3], NULL, 10))) {
            printf("gen: cannot write under %s\n", argv[2]);
            return 1;
        }
        return 0;
    }
    fprintf(stderr, "usage: html_tool tags FILE | png FILE | gen DIR N\n");
    return 2;
}
