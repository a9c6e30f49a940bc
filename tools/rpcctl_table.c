/*
 * rpcctl_table.c - the aligned tables of rpcctl's newer commands (topics,
 * monitor, cleanup --all): rows of text cells, each column as wide as its
 * widest cell, text left-aligned and numbers right-aligned, no trailing
 * blanks.  Cells are copied, so callers may format into scratch buffers.
 */
#define _POSIX_C_SOURCE 200809L

#include "rpcctl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void rpcctl_table_init(struct rpcctl_table *t, unsigned ncols, const char *const *titles,
                       const unsigned char *right)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    t->titles = titles;
    t->right = right;
}

int rpcctl_table_row(struct rpcctl_table *t)
{
    if (t->oom)
        return -1;
    if (t->nrows == t->cap) {
        unsigned cap = t->cap ? t->cap * 2 : 16;
        char **nc = realloc(t->cells, (size_t)cap * t->ncols * sizeof *nc);
        if (!nc) {
            t->oom = 1;
            return -1;
        }
        t->cells = nc;
        t->cap = cap;
    }
    memset(&t->cells[(size_t)t->nrows * t->ncols], 0, t->ncols * sizeof *t->cells);
    t->nrows++;
    return 0;
}

void rpcctl_table_set(struct rpcctl_table *t, unsigned col, const char *fmt, ...)
{
    char **cell;
    va_list ap;
    int len;

    if (t->oom || t->nrows == 0 || col >= t->ncols)
        return;
    cell = &t->cells[(size_t)(t->nrows - 1) * t->ncols + col];
    va_start(ap, fmt);
    len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    free(*cell);
    *cell = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (!*cell) {
        t->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(*cell, (size_t)len + 1, fmt, ap);
    va_end(ap);
}

static const char *cell_text(const struct rpcctl_table *t, unsigned row, unsigned col)
{
    const char *c = t->cells[(size_t)row * t->ncols + col];
    return c ? c : "";
}

static void print_cells(FILE *f, const struct rpcctl_table *t, const char *indent,
                        const size_t *width, const char *const *cells)
{
    unsigned c;

    fputs(indent, f);
    for (c = 0; c < t->ncols; c++) {
        int last = c + 1 == t->ncols;
        int w = (int)width[c];
        if (t->right && t->right[c])
            fprintf(f, "%*s", w, cells[c]);
        else if (last)
            fputs(cells[c], f); /* no trailing blanks */
        else
            fprintf(f, "%-*s", w, cells[c]);
        if (!last)
            fputs("  ", f);
    }
    fputc('\n', f);
}

void rpcctl_table_print(FILE *f, const struct rpcctl_table *t, const char *indent)
{
    const char *row[RPCCTL_TABLE_MAX_COLS];
    size_t width[RPCCTL_TABLE_MAX_COLS];
    unsigned r, c;

    if (t->ncols > RPCCTL_TABLE_MAX_COLS)
        return;
    for (c = 0; c < t->ncols; c++)
        width[c] = strlen(t->titles[c]);
    for (r = 0; r < t->nrows; r++)
        for (c = 0; c < t->ncols; c++) {
            size_t l = strlen(cell_text(t, r, c));
            if (l > width[c])
                width[c] = l;
        }
    print_cells(f, t, indent, width, t->titles);
    for (r = 0; r < t->nrows; r++) {
        for (c = 0; c < t->ncols; c++)
            row[c] = cell_text(t, r, c);
        print_cells(f, t, indent, width, row);
    }
}

void rpcctl_table_free(struct rpcctl_table *t)
{
    size_t i;

    for (i = 0; i < (size_t)t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}
