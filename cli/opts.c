/*
 * opts.c - the command's option parser: a table of options per command,
 * "--name value" or "--name=value", values checked against their range,
 * everything else positional. Numbers are read in the C locale's grammar
 * by the C library (the command never calls setlocale).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int bad(const char *cmd, const char *name, const char *value, const char *why)
{
    fprintf(stderr, "mlp %s: --%s %s: %s\n", cmd, name, value, why);
    return 2;
}

static int parse_list(const char *cmd, const opt *o, const char *v)
{
    int64_t *dst = (int64_t *)o->dst;
    const char *p = v;
    int n = 0;
    if (*p == '\0')
        return bad(cmd, o->name, v, "expected a comma-separated list of widths such as 64,32");
    for (;;) {
        char *end;
        long long w;
        errno = 0;
        w = strtoll(p, &end, 10);
        if (end == p || errno || w < (long long)o->lo || w > (long long)o->hi)
            return bad(cmd, o->name, v, "each width must be a whole number from 1 to 65536");
        if (n == o->max)
            return bad(cmd, o->name, v, "too many layers");
        dst[n++] = w;
        if (*end == '\0')
            break;
        if (*end != ',')
            return bad(cmd, o->name, v, "expected a comma-separated list of widths such as 64,32");
        p = end + 1;
    }
    *o->count = n;
    return 0;
}

static int parse_value(const char *cmd, const opt *o, const char *v)
{
    char *end;
    errno = 0;
    switch (o->kind) {
    case OPT_INT: {
        long long x = strtoll(v, &end, 10);
        if (end == v || *end || errno)
            return bad(cmd, o->name, v, "not a whole number");
        if ((double)x < o->lo || (double)x > o->hi) {
            char why[96];
            snprintf(why, sizeof why, "must be from %.0f to %.0f", o->lo, o->hi);
            return bad(cmd, o->name, v, why);
        }
        *(long long *)o->dst = x;
        return 0;
    }
    case OPT_REAL: {
        double x = strtod(v, &end);
        if (end == v || *end || errno || !isfinite(x))
            return bad(cmd, o->name, v, "not a finite number");
        if (x < o->lo || x > o->hi) {
            char why[96];
            snprintf(why, sizeof why, "must be from %g to %g", o->lo, o->hi);
            return bad(cmd, o->name, v, why);
        }
        *(double *)o->dst = x;
        return 0;
    }
    case OPT_STR: *(const char **)o->dst = v; return 0;
    case OPT_LIST: return parse_list(cmd, o, v);
    case OPT_FLAG: break;
    }
    return bad(cmd, o->name, v, "takes no value");
}

int cli_parse(const char *cmd, int argc, char **argv, int first, const opt *opts, int nopts,
              const char **pos, int *npos)
{
    int i, j;
    *npos = 0;
    for (i = first; i < argc; i++) {
        const char *a = argv[i], *eq, *v;
        size_t len;
        if (a[0] != '-' || a[1] == '\0') {
            if (*npos == CLI_MAX_POS) {
                fprintf(stderr, "mlp %s: unexpected argument '%s'\n", cmd, a);
                return 2;
            }
            pos[(*npos)++] = a;
            continue;
        }
        if (!strcmp(a, "-o"))
            a = "--output";
        if (a[1] != '-') {
            fprintf(stderr, "mlp %s: unknown option '%s' (see mlp help)\n", cmd, a);
            return 2;
        }
        a += 2;
        eq = strchr(a, '=');
        len = eq ? (size_t)(eq - a) : strlen(a);
        for (j = 0; j < nopts; j++)
            if (strlen(opts[j].name) == len && !strncmp(opts[j].name, a, len))
                break;
        if (j == nopts) {
            fprintf(stderr, "mlp %s: unknown option '--%.*s' (see mlp help)\n", cmd, (int)len, a);
            return 2;
        }
        if (opts[j].kind == OPT_FLAG) {
            if (eq)
                return bad(cmd, opts[j].name, eq + 1, "takes no value");
            *(int *)opts[j].dst = 1;
            continue;
        }
        if (eq)
            v = eq + 1;
        else if (i + 1 < argc)
            v = argv[++i];
        else {
            fprintf(stderr, "mlp %s: --%s needs a value\n", cmd, opts[j].name);
            return 2;
        }
        if (parse_value(cmd, &opts[j], v))
            return 2;
    }
    return 0;
}
