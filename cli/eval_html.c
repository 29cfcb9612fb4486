/* segloss eval --html: one self-contained HTML page of an evaluation.
 *
 * Everything is inline (CSS, SVG, one small script that sorts the tables
 * when a column header is clicked); the page fetches nothing. Sections:
 * the run (command line, version, date, options), the summary per label
 * and metric (the same statistics as the JSON summary), one distribution
 * plot per reported metric (every case a dot, a box of the quartiles, NaN
 * cases in a row of their own with their count), the five worst cases per
 * label by Dice and by HD95, the per-case table, and the failed cases of a
 * --keep-going run. Scores are printed as in the table output (4 decimals,
 * "nan"). Colours: the Okabe-Ito palette (readable with the common forms of
 * colour blindness). Every file name and argument goes through html_text. */
#include "eval.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Okabe & Ito (2008), "Color Universal Design"; yellow last (weak on white). */
static const char *const palette[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                      "#56B4E9", "#D55E00", "#F0E442"};
#define N_PALETTE ((int64_t)(sizeof palette / sizeof palette[0]))
#define N_WORST 5

/* ---------------------------------------------------------------------- */
/* Text                                                                     */
/* ---------------------------------------------------------------------- */
/* Length of the valid UTF-8 sequence at p and its code point, or 0. */
static int utf8_seq(const unsigned char *p, unsigned *cp) {
    unsigned c = p[0];
    int len = c >= 0xC2 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xF0 && c < 0xF5 ? 4 : 0;
    if (!len) return 0;
    unsigned v = c & (len == 2 ? 0x1Fu : len == 3 ? 0x0Fu : 0x07u);
    for (int k = 1; k < len; k++) {
        if ((p[k] & 0xC0u) != 0x80u) return 0; /* also stops at the NUL */
        v = v << 6 | (p[k] & 0x3Fu);
    }
    if ((len == 3 && (v < 0x800 || (v >= 0xD800 && v < 0xE000))) ||
        (len == 4 && (v < 0x10000 || v > 0x10FFFF)))
        return 0;
    *cp = v;
    return len;
}

/* Text content or attribute value: markup characters and quotes as
 * entities; everything outside printable ASCII as a numeric reference
 * (valid UTF-8 as its code point, control characters as their visible
 * symbols U+2400.., any other byte as U+FFFD), so a hostile or
 * mis-encoded file name can neither break the page nor vanish. */
static void html_textn(FILE *f, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end && *p) {
        unsigned c = *p, cp;
        int len;
        if (c == '<') fputs("&lt;", f);
        else if (c == '>') fputs("&gt;", f);
        else if (c == '&') fputs("&amp;", f);
        else if (c == '"') fputs("&quot;", f);
        else if (c == '\'') fputs("&#39;", f);
        else if (c < 0x20) fprintf(f, "&#x%X;", 0x2400u + c);
        else if (c == 0x7F) fputs("&#x2421;", f);
        else if (c < 0x80) fputc((int)c, f);
        else if ((len = utf8_seq(p, &cp)) > 0) {
            fprintf(f, "&#x%X;", cp >= 0x80 && cp < 0xA0 ? 0xFFFDu : cp);
            p += len;
            continue;
        } else fputs("&#xFFFD;", f);
        p++;
    }
}

static void html_text(FILE *f, const char *s) { html_textn(f, s, strlen(s)); }

/* One command-line argument, single-quoted as a shell would need it. */
static void html_arg(FILE *f, const char *a) {
    int plain = *a != '\0';
    for (const char *p = a; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=,:+-@%",
                    *p))
            plain = 0;
    if (plain) {
        html_text(f, a);
        return;
    }
    fputc('\'', f);
    for (const char *p = a, *q;; p = q + 1) { /* a quote inside: '\'' */
        q = strchr(p, '\'');
        html_textn(f, p, q ? (size_t)(q - p) : strlen(p));
        if (!q) break;
        html_text(f, "'\\''");
    }
    fputc('\'', f);
}

/* An infinite value shows as nan, as the summaries count it (JSON, which
 * segloss merge reads, writes it as null). */
static void td_score(FILE *f, double v) {
    char b[48];
    fprintf(f, "<td>%s</td>", eval_fmt_score(b, sizeof b, isfinite(v) ? v : NAN));
}


/* ---------------------------------------------------------------------- */
/* Values of one metric for one label over the cases                       */
/* ---------------------------------------------------------------------- */
typedef struct series {
    double *v;      /* per case reporting the label, in case order */
    int64_t *who;   /* the case index of each value */
    int64_t n;
} series;

static void collect(series *s, const eval_cases *cs, int64_t label, int em) {
    s->n = 0;
    for (int64_t i = 0; i < cs->n; i++) {
        const eval_case *k = &cs->v[i];
        if (k->rc) continue;
        for (int64_t j = 0; j < k->n; j++)
            if (k->res[j].stats.label == label) {
                s->v[s->n] = eval_metric_value(&k->res[j], (eval_metric)em);
                s->who[s->n++] = i;
            }
    }
}

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear-interpolation quantile (numpy's default) of sorted x[0..n), n > 0. */
static double quantile(const double *x, int64_t n, double q) {
    double h = (double)(n - 1) * q;
    int64_t lo = (int64_t)floor(h);
    int64_t hi = lo + 1 < n ? lo + 1 : lo;
    return x[lo] + (h - (double)lo) * (x[hi] - x[lo]);
}

/* A deterministic jitter in [-0.5, 0.5) from a case index. */
static double jitter(int64_t i) {
    uint64_t z = (uint64_t)i * 0x9E3779B97F4A7C15ull;
    z ^= z >> 31;
    z *= 0xBF58476D1CE4E5B9ull;
    z ^= z >> 29;
    return (double)(z >> 11) / 9007199254740992.0 - 0.5;
}

/* ---------------------------------------------------------------------- */
/* Page                                                                     */
/* ---------------------------------------------------------------------- */
static const char css[] =
    "body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:8px 16px;"
    "color:#222;background:#fff}a{color:inherit}"
    "h1{font-size:1.5em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ccc}"
    "code,pre{font:13px/1.3 ui-monospace,monospace}pre{white-space:pre-wrap;word-break:break-all;"
    "background:#f4f4f4;padding:6px}"
    ".scroll{overflow-x:auto;max-width:100%}"
    "table{border-collapse:collapse;font-size:13px;margin:6px 0}"
    "th,td{border:1px solid #ddd;padding:2px 6px;text-align:right;white-space:nowrap}"
    "th{background:#eee;position:sticky;top:0}td.c,th.c{text-align:left;white-space:normal;"
    "word-break:break-all;min-width:8em}"
    "table.sort th{cursor:pointer}table.sort th:hover{background:#ddd}"
    ".big{max-height:70vh;overflow:auto}"
    "figure{margin:10px 0}svg{width:100%;max-width:900px;height:auto;display:block}"
    "svg text{font:12px sans-serif;fill:#222}.ax{stroke:#888;stroke-width:1}"
    ".gr{stroke:#e4e4e4;stroke-width:1}.bx{fill:none;stroke:#222;stroke-width:1.5}"
    ".p{fill:none;stroke-width:7;stroke-linecap:round;stroke-opacity:.6}"
    ".nanrow{fill:#f6f6f6}figcaption{font-size:13px;color:#555}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:600}"
    "dd{margin:0}.fail{color:#a00}summary{cursor:pointer;margin:6px 0}";

/* Sorts a table.sort by the clicked column (numbers numerically, nan
 * last; text by locale), again for the reverse order. No '<' inside. */
static const char script[] =
    "document.querySelectorAll('table.sort th').forEach(function(th){"
    "th.title='click to sort';th.onclick=function(){"
    "var i=th.cellIndex,b=th.closest('table').tBodies[0],d=th.dataset.d==='1'?-1:1,"
    "num=!th.classList.contains('c'),r=Array.prototype.slice.call(b.rows);"
    "th.dataset.d=d===1?'1':'0';"
    "r.sort(function(x,y){var a=x.cells[i].textContent,c=y.cells[i].textContent;"
    "if(num){a=parseFloat(a);c=parseFloat(c);if(isNaN(a)||isNaN(c))"
    "return isNaN(a)-isNaN(c);return d*(a-c)}return d*a.localeCompare(c)});"
    "var g=document.createDocumentFragment();r.forEach(function(e){g.appendChild(e)});"
    "b.appendChild(g)}});"
    "window.addEventListener('load',function(){void document.body.offsetHeight;"
    "document.documentElement.dataset.renderMs=Math.round(performance.now())});";

static const char *const empty_score_names[] = {"nan", "one", "zero"};
static const char *const empty_distance_names[] = {"nan", "diag"};

static void write_head(FILE *f, const eval_cases *cs, const eval_summary *s, const eval_cfg *c,
                       const char *settings, const char *version) {
    fprintf(f,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>segloss eval report</title>\n<style>%s</style>\n</head>\n<body>\n"
            "<h1>segloss eval report</h1>\n<dl>\n<dt>command</dt><dd><code>segloss",
            css);
    for (int a = 0; a < c->argc; a++) {
        fputc(' ', f);
        html_arg(f, c->argv[a]);
    }
    char date[64] = "unknown";
    const char *sde = getenv("SOURCE_DATE_EPOCH"); /* reproducible pages */
    time_t now = sde && *sde ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tm);
    int64_t ok = 0;
    for (int64_t i = 0; i < cs->n; i++) ok += cs->v[i].rc == 0;
    fprintf(f, "</code></dd>\n<dt>segloss</dt><dd>%s</dd>\n<dt>date</dt><dd>%s</dd>\n",
            version, date);
    fprintf(f, "<dt>cases</dt><dd>%lld evaluated", (long long)ok);
    if (ok != cs->n) fprintf(f, ", <span class=\"fail\">%lld failed</span>", (long long)(cs->n - ok));
    fprintf(f, "; %lld label%s</dd>\n", (long long)s->n_labels, s->n_labels == 1 ? "" : "s");
    if (settings) fputs(settings, f);
    else eval_html_settings(f, c);
}

/* The rows of the run's settings, from the options alone. */
void eval_html_settings(FILE *f, const eval_cfg *c) {
    fputs("<dt>labels</dt><dd>", f);
    if (c->labels_all) fputs("all (every nonzero label in either file of a case)", f);
    for (int64_t l = 0; !c->labels_all && l < c->n_labels; l++)
        fprintf(f, "%s%lld", l ? "," : "", (long long)c->labels[l]);
    fputs("</dd>\n<dt>metrics</dt><dd>", f);
    for (int em = 0, first = 1; em < EM_COUNT; em++)
        if (eval_metric_chosen(c, em)) {
            fprintf(f, "%s%s", first ? "" : ", ", eval_metric_names[em]);
            first = 0;
        }
    fprintf(f, "</dd>\n<dt>scores</dt><dd>float predictions are %s, foreground where score "
               "&#x2265; %g</dd>\n<dt>spacing</dt><dd>",
            c->logits ? "logits" : "probabilities", c->threshold);
    if (!c->n_spacing) fputs("from the reference files", f);
    for (int d = 0; d < c->n_spacing; d++) fprintf(f, "%s%g", d ? "," : "", c->spacing[d]);
    const segloss_metric_opts *o = &c->mopts;
    fprintf(f,
            "</dd>\n<dt>convention</dt><dd>surfaces: %s; hd95: %s, percentile %g; nsd "
            "tolerance %g; ",
            o->surface == SEGLOSS_SURFACE_SURFEL ? "surfels (DeepMind surface-distance)"
                                                 : "voxels",
            o->hd95_variant == SEGLOSS_HD95_POOLED ? "pooled (MedPy)" : "max of the two directed (MONAI)",
            o->percentile, o->tolerance);
    if (o->convention != SEGLOSS_CONVENTION_SEGLOSS)
        fprintf(f, "empty masks: as --convention %s</dd>\n</dl>\n",
                segloss_convention_name((int)o->convention));
    else
        fprintf(f, "0/0 overlap score: %s; distance with one empty mask: %s</dd>\n</dl>\n",
                empty_score_names[o->empty_score], empty_distance_names[o->empty_distance]);
}

static void write_summary(FILE *f, const eval_summary *s, const eval_cfg *c) {
    char key[24];
    fputs("<h2 id=\"summary\">Summary</h2>\n<p>Over the cases that report each label: mean, "
          "standard deviation (population) and median of the non-NaN values, n = their "
          "count, nan = the cases where the metric is undefined (left out of the "
          "statistics). <i>mean of labels</i>: the same statistics of the per-label "
          "means.</p>\n<div class=\"scroll\"><table class=\"sort\"><thead><tr>"
          "<th class=\"c\">metric</th><th class=\"c\">label</th><th>cases</th><th>mean</th>"
          "<th>std</th><th>median</th><th>n</th><th>nan</th></tr></thead><tbody>\n",
          f);
    for (int em = 0; em < EM_COUNT; em++) {
        if (!eval_metric_chosen(c, em)) continue;
        for (int64_t l = 0; l <= s->n_labels; l++) {
            int over = l == s->n_labels;
            const eval_stats *st = over ? &s->over[em] : &s->stats[l * EM_COUNT + em];
            fprintf(f, "<tr><td class=\"c\">%s</td><td class=\"c\">", eval_metric_names[em]);
            if (over) fprintf(f, "<i>mean of labels</i></td><td>%lld</td>", (long long)s->n_labels);
            else
                fprintf(f, "%s</td><td>%lld</td>",
                        eval_label_key(c, s->labels[l], key, sizeof key), (long long)s->cases[l]);
            td_score(f, st->mean);
            td_score(f, st->std);
            td_score(f, st->median);
            fprintf(f, "<td>%lld</td><td>%lld</td></tr>\n", (long long)st->n, (long long)st->n_nan);
        }
    }
    fputs("</tbody></table></div>\n", f);
}

/* Plot geometry (SVG user units). */
#define PW 900.0
#define PX0 64.0
#define PX1 890.0
#define PY0 16.0
#define PY1 236.0
#define NANY 258.0
#define PH 300.0

/* One metric: a band per label, dots for the cases (NaN ones in the nan
 * row), the box of the quartiles with the median, whiskers to min and max. */
static void write_plot(FILE *f, const eval_cases *cs, const eval_summary *s, const eval_cfg *c,
                       int em,
                       series *sr, double *tmp) {
    char key[24];
    double lo = 0.0, hi = (EM_HIGHER_BETTER_MASK >> em & 1u) ? 1.0 : 0.0;
    for (int64_t l = 0; l < s->n_labels; l++) {
        collect(sr, cs, s->labels[l], em);
        for (int64_t i = 0; i < sr->n; i++)
            if (isfinite(sr->v[i])) {
                if (sr->v[i] > hi) hi = sr->v[i];
                if (sr->v[i] < lo) lo = sr->v[i];
            }
    }
    if (!(hi > lo)) hi = lo + 1.0;
    /* Grid step 1, 2 or 5 times a power of ten, about 4 steps, ends on it. */
    double step = pow(10.0, floor(log10((hi - lo) / 4.0)));
    double r = (hi - lo) / 4.0 / step;
    step *= r > 5 ? 10 : r > 2.5 ? 5 : r > 1 ? 2 : 1;
    lo = floor(lo / step) * step;
    hi = ceil(hi / step) * step;
#define YOF(val) (PY1 - ((val) - lo) / (hi - lo) * (PY1 - PY0))
    const double band = (PX1 - PX0) / (double)(s->n_labels ? s->n_labels : 1);
    fprintf(f, "<figure><svg viewBox=\"0 0 %g %g\" role=\"img\" aria-label=\"%s per label\">\n",
            PW, PH, eval_metric_names[em]);
    fprintf(f, "<rect class=\"nanrow\" x=\"%g\" y=\"%g\" width=\"%g\" height=\"18\"/>"
               "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">nan</text>\n",
            PX0, NANY - 9.0, PX1 - PX0, PX0 - 6.0, NANY + 4.0);
    for (double val = lo; val <= hi + step / 2; val += step) {
        double y = YOF(val);
        fprintf(f, "<line class=\"gr\" x1=\"%g\" x2=\"%g\" y1=\"%.1f\" y2=\"%.1f\"/>"
                   "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n",
                PX0, PX1, y, y, PX0 - 6.0, y + 4.0, val);
    }
    fprintf(f, "<line class=\"ax\" x1=\"%g\" x2=\"%g\" y1=\"%g\" y2=\"%g\"/>\n", PX0, PX0, PY0, PY1);
    for (int64_t l = 0; l < s->n_labels; l++) {
        collect(sr, cs, s->labels[l], em);
        const double cx = PX0 + band * ((double)l + 0.5), half = band * 0.3 < 40 ? band * 0.3 : 40;
        const char *col = palette[l % N_PALETTE];
        int64_t k = 0, nn = 0;
        fprintf(f, "<path class=\"p\" stroke=\"%s\" d=\"", col);
        for (int64_t i = 0; i < sr->n; i++) {
            double x = cx + 1.6 * half * jitter(sr->who[i]);
            if (isfinite(sr->v[i])) {
                tmp[k++] = sr->v[i];
                fprintf(f, "M%.1f %.1fh0", x, YOF(sr->v[i]));
            } else {
                nn++;
                fprintf(f, "M%.1f %.1fh0", x, NANY);
            }
        }
        fputs("\"/>\n", f);
        fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">label %s</text>"
                   "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">n=%lld, nan=%lld</text>\n",
                cx, PH - 20.0, eval_label_key(c, s->labels[l], key, sizeof key), cx, PH - 4.0,
                (long long)k, (long long)nn);
        if (!k) continue;
        qsort(tmp, (size_t)k, sizeof *tmp, cmp_dbl);
        double q1 = quantile(tmp, k, 0.25), med = quantile(tmp, k, 0.5), q3 = quantile(tmp, k, 0.75);
        char b1[48], b2[48], b3[48];
        fprintf(f, "<g class=\"bx\"><title>label %s: median %s, quartiles %s",
                eval_label_key(c, s->labels[l], key, sizeof key),
                eval_fmt_score(b2, sizeof b2, med),
                eval_fmt_score(b1, sizeof b1, q1));
        fprintf(f, " .. %s; n=%lld, nan=%lld</title>", eval_fmt_score(b3, sizeof b3, q3),
                (long long)k, (long long)nn);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", cx - half,
                YOF(q3), 2 * half, YOF(q1) - YOF(q3));
        fprintf(f, "<path d=\"M%.1f %.1fh%.1fM%.1f %.1fV%.1fM%.1f %.1fV%.1f\" stroke-width=\"3\"/>"
                   "</g>\n",
                cx - half, YOF(med), 2 * half, cx, YOF(q3), YOF(tmp[k - 1]), cx, YOF(q1), YOF(tmp[0]));
    }
#undef YOF
    fprintf(f, "</svg><figcaption>%s per label: every case is a dot (the nan row holds the cases "
               "where it is undefined); box: quartiles and median; whiskers: minimum and "
               "maximum.</figcaption></figure>\n",
            eval_metric_names[em]);
}

static int worse(const void *a, const void *b) { /* on (value, case) pairs */
    const double *x = a, *y = b;
    return x[0] != y[0] ? (x[0] > y[0]) - (x[0] < y[0]) : (x[1] > y[1]) - (x[1] < y[1]);
}

/* The N_WORST lowest (overlap) or highest (distance) non-NaN values per label. */
static int write_worst(FILE *f, const eval_cases *cs, const eval_summary *s, const eval_cfg *c,
                       int em, series *sr) {
    char key[24];
    double *pair = malloc((size_t)(cs->n ? cs->n : 1) * 2 * sizeof *pair);
    if (!pair) return -1;
    const double sign = (EM_HIGHER_BETTER_MASK >> em & 1u) ? 1.0 : -1.0;
    fprintf(f, "<h3>by %s (%s first)</h3>\n<div class=\"scroll\"><table><thead><tr>"
               "<th class=\"c\">label</th><th>rank</th><th class=\"c\">case</th><th>%s</th>"
               "</tr></thead><tbody>\n",
            eval_metric_names[em], (EM_HIGHER_BETTER_MASK >> em & 1u) ? "lowest" : "highest", eval_metric_names[em]);
    for (int64_t l = 0; l < s->n_labels; l++) {
        collect(sr, cs, s->labels[l], em);
        int64_t k = 0;
        for (int64_t i = 0; i < sr->n; i++)
            if (isfinite(sr->v[i])) {
                pair[2 * k] = sign * sr->v[i];
                pair[2 * k++ + 1] = (double)sr->who[i];
            }
        qsort(pair, (size_t)k, 2 * sizeof *pair, worse);
        for (int64_t r = 0; r < k && r < N_WORST; r++) {
            fprintf(f, "<tr><td class=\"c\">%s</td><td>%lld</td><td class=\"c\">",
                    eval_label_key(c, s->labels[l], key, sizeof key), (long long)r + 1);
            html_text(f, cs->v[(int64_t)pair[2 * r + 1]].name);
            fputs("</td>", f);
            td_score(f, sign * pair[2 * r]);
            fputs("</tr>\n", f);
        }
    }
    fputs("</tbody></table></div>\n", f);
    free(pair);
    return 0;
}

/* Rows of the per-case table beyond which it starts folded: a browser lays
 * out a folded <details> only when opened (10,000 rows take it ~1.5 s). */
#define OPEN_ROWS 2000

static void write_cases(FILE *f, const eval_cases *cs, const eval_cfg *c) {
    char key[24];
    int64_t rows = 0;
    for (int64_t i = 0; i < cs->n; i++) rows += cs->v[i].rc ? 0 : cs->v[i].n;
    fprintf(f, "<h2 id=\"cases\">Per case</h2>\n<details%s><summary>%lld rows (case, label); "
               "click a column header to sort</summary>\n"
               "<div class=\"scroll big\"><table class=\"sort\"><thead><tr>"
               "<th class=\"c\">case</th><th>label</th>",
            rows <= OPEN_ROWS ? " open" : "", (long long)rows);
    for (int em = 0; em < EM_COUNT; em++)
        if (eval_metric_chosen(c, em)) fprintf(f, "<th>%s</th>", eval_metric_names[em]);
    fputs("</tr></thead><tbody>\n", f);
    for (int64_t i = 0; i < cs->n; i++) {
        const eval_case *k = &cs->v[i];
        if (k->rc) continue;
        for (int64_t j = 0; j < k->n; j++) {
            fputs("<tr><td class=\"c\">", f);
            html_text(f, k->name);
            fprintf(f, "</td><td>%s</td>",
                    eval_label_key(c, k->res[j].stats.label, key, sizeof key));
            for (int em = 0; em < EM_COUNT; em++)
                if (eval_metric_chosen(c, em)) td_score(f, eval_metric_value(&k->res[j], (eval_metric)em));
            fputs("</tr>\n", f);
        }
    }
    fputs("</tbody></table></div></details>\n", f);
    int64_t none = 0;
    for (int64_t i = 0; i < cs->n; i++) none += !cs->v[i].rc && cs->v[i].n == 0;
    if (!none) return;
    fprintf(f, "<p>%lld case%s with no labels in either file:</p>\n<ul>\n", (long long)none,
            none == 1 ? "" : "s");
    for (int64_t i = 0; i < cs->n; i++)
        if (!cs->v[i].rc && cs->v[i].n == 0) {
            fputs("<li>", f);
            html_text(f, cs->v[i].name);
            fputs("</li>\n", f);
        }
    fputs("</ul>\n", f);
}

static void write_failed(FILE *f, const eval_cases *cs) {
    int64_t failed = 0;
    for (int64_t i = 0; i < cs->n; i++) failed += cs->v[i].rc != 0;
    if (!failed) return;
    fprintf(f, "<h2 id=\"failed\" class=\"fail\">Failed cases (%lld)</h2>\n<ul>\n",
            (long long)failed);
    for (int64_t i = 0; i < cs->n; i++) {
        if (!cs->v[i].rc) continue;
        fputs("<li>", f);
        html_text(f, cs->v[i].name);
        fputs("<pre>", f);
        html_text(f, cs->v[i].err ? cs->v[i].err : "");
        fputs("</pre></li>\n", f);
    }
    fputs("</ul>\n", f);
}

int eval_write_html(FILE *f, const eval_cases *cs, const eval_summary *s, const eval_cfg *c) {
    return eval_write_html_as(f, cs, s, c, NULL, segloss_version_string());
}

int eval_write_html_as(FILE *f, const eval_cases *cs, const eval_summary *s, const eval_cfg *c,
                       const char *settings, const char *version) {
    size_t cap = (size_t)(cs->n ? cs->n : 1);
    series sr = {malloc(cap * sizeof *sr.v), malloc(cap * sizeof *sr.who), 0};
    double *tmp = malloc(cap * sizeof *tmp);
    int rc = -1;
    if (!sr.v || !sr.who || !tmp) goto done;
    write_head(f, cs, s, c, settings, version);
    fputs("<p><a href=\"#summary\">summary</a> &#xB7; <a href=\"#plots\">distributions</a> "
          "&#xB7; <a href=\"#worst\">worst cases</a> &#xB7; <a href=\"#cases\">per case</a>",
          f);
    fputs("</p>\n", f);
    write_summary(f, s, c);
    fputs("<h2 id=\"plots\">Distributions over the cases</h2>\n", f);
    for (int em = 0; em < EM_COUNT; em++)
        if (eval_metric_chosen(c, em)) {
            fprintf(f, "<h3>%s</h3>\n", eval_metric_names[em]);
            write_plot(f, cs, s, c, em, &sr, tmp);
        }
    fprintf(f, "<h2 id=\"worst\">Worst cases</h2>\n<p>The %d worst cases per label "
               "(NaN values are not ranked).</p>\n",
            N_WORST);
    int any = 0;
    for (int em = 0; em < EM_COUNT; em++)
        if (eval_metric_chosen(c, em) && (em == EM_DICE || em == EM_HD95)) {
            if (write_worst(f, cs, s, c, em, &sr)) goto done;
            any = 1;
        }
    for (int em = 0; !any && em < EM_COUNT; em++) /* neither reported: the first metric */
        if (eval_metric_chosen(c, em)) {
            if (write_worst(f, cs, s, c, em, &sr)) goto done;
            any = 1;
        }
    write_cases(f, cs, c);
    write_failed(f, cs);
    fprintf(f, "<script>%s</script>\n</body>\n</html>\n", script);
    rc = ferror(f) ? -1 : 0;
done:
    free(sr.v);
    free(sr.who);
    free(tmp);
    return rc;
}
