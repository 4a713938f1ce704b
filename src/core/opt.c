/*
 * The option engine (see opt.h): owns what the collector's and flowsink's
 * option tables have in common, i.e. turning a row and a string into a
 * field (with the bounds and the error texts), the row lookup, defaults,
 * freeing, the --help rows and the argv loop. The tables, usage texts and
 * what program-only flags do stay with each program. Follows the usual GNU long
 * option shapes (`--name value`, `--name=value`), without getopt: options
 * come from a table, and the collector's INI keys go through the same
 * fc_opt_set.
 */
#include "core/opt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fc/err.h"

static void *field(void *dst, size_t off)
{
	return (char *)dst + off;
}

int fc_opt_list_add(const struct fc_opt_prog *p, struct fc_opt_list *l, const char *name,
		    const char *v, FILE *err)
{
	/* max_list is the program's own limit; the array bounds it too, in
	 * case a program asks for more than the type holds */
	if (l->n >= p->max_list || l->n >= FC_OPT_LIST_CAP) {
		fprintf(err, "%s: %s%s given more than %zu times\n", p->name, p->list_label, name,
			p->max_list);
		return FC_EINVAL;
	}
	l->v[l->n] = strdup(v);
	if (!l->v[l->n])
		return FC_ENOMEM;
	l->n++;
	return 0;
}

void fc_opt_list_free(struct fc_opt_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i]);
		l->v[i] = NULL;
	}
	l->n = 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off")) {
		*out = false;
		return 0;
	}
	return FC_EINVAL;
}

int fc_opt_set(const struct fc_opt_prog *p, void *dst, const struct fc_opt *o, const char *v,
	       FILE *err)
{
	char *end;
	unsigned long long u;

	switch (o->type) {
	case FC_OPT_STR: {
		char **s = field(dst, o->off);
		char *dup = strdup(v);

		if (!dup)
			return FC_ENOMEM;
		free(*s);
		*s = dup;
		return 0;
	}
	case FC_OPT_LIST:
		return fc_opt_list_add(p, field(dst, o->off), o->name, v, err);
	case FC_OPT_BOOL:
		if (parse_bool(v, field(dst, o->off)) != 0) {
			fprintf(err, "%s: %s%s: expected true or false, got '%s'\n", p->name,
				p->value_label, o->name, v);
			return FC_EINVAL;
		}
		return 0;
	case FC_OPT_U64:
		/* strtoull takes "-1" as a huge number: refuse the sign */
		errno = 0;
		u = strtoull(v, &end, 10);
		if (errno || end == v || *end || v[0] == '-') {
			fprintf(err, "%s: %s%s: expected a number, got '%s'\n", p->name,
				p->value_label, o->name, v);
			return FC_EINVAL;
		}
		if (u < o->min || u > o->max) {
			fprintf(err, "%s: %s%s: %llu is outside %llu..%llu\n", p->name,
				p->value_label, o->name, u, (unsigned long long)o->min,
				(unsigned long long)o->max);
			return FC_EINVAL;
		}
		*(uint64_t *)field(dst, o->off) = u;
		return 0;
	}
	return FC_EINVAL;
}

const struct fc_opt *fc_opt_find(const struct fc_opt_prog *p, const char *name, size_t len)
{
	/* INI keys are often written with underscores: kafka_topic */
	for (size_t i = 0; i < p->n_opts; i++) {
		const char *n = p->opts[i].name;
		size_t k;

		if (strlen(n) != len)
			continue;
		for (k = 0; k < len; k++) {
			char a = n[k], b = name[k] == '_' ? '-' : name[k];

			if (a != b)
				break;
		}
		if (k == len)
			return &p->opts[i];
	}
	return NULL;
}

void fc_opt_defaults(const struct fc_opt_prog *p, void *dst)
{
	for (size_t i = 0; i < p->n_opts; i++) {
		if (p->opts[i].def)
			(void)fc_opt_set(p, dst, &p->opts[i], p->opts[i].def, stderr);
	}
}

void fc_opt_free(const struct fc_opt_prog *p, void *dst)
{
	for (size_t i = 0; i < p->n_opts; i++) {
		const struct fc_opt *o = &p->opts[i];

		if (o->type == FC_OPT_STR) {
			char **s = field(dst, o->off);

			free(*s);
			*s = NULL;
		} else if (o->type == FC_OPT_LIST) {
			fc_opt_list_free(field(dst, o->off));
		}
	}
	fc_opt_list_free(field(dst, p->props_off));
}

void fc_opt_help(const struct fc_opt_prog *p, FILE *out)
{
	for (size_t i = 0; i < p->n_opts; i++) {
		const struct fc_opt *o = &p->opts[i];
		char lhs[64];

		snprintf(lhs, sizeof(lhs), "--%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		fprintf(out, "  %-25s %s%s", lhs, p->help_gap && strlen(lhs) >= 25 ? " " : "",
			o->help);
		if (o->def && o->type != FC_OPT_BOOL)
			fprintf(out, " [%s]", o->def);
		fputc('\n', out);
	}
}

static const struct fc_opt_flag *find_flag(const struct fc_opt_prog *p, const char *name,
					   size_t len)
{
	for (size_t i = 0; i < p->n_flags; i++) {
		if (strlen(p->flags[i].name) == len && !strncmp(p->flags[i].name, name, len))
			return &p->flags[i];
	}
	return NULL;
}

int fc_opt_parse_args(const struct fc_opt_prog *p, void *dst, int argc, char **argv,
		      FILE *err)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *val = NULL, *eq;
		const struct fc_opt_flag *f;
		const struct fc_opt *o = NULL;
		size_t nlen;
		int rc;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			p->usage(stdout, argv[0]);
			return 1;
		}
		if (!strcmp(a, "--version")) {
			p->version(stdout);
			return 1;
		}
		if (!strcmp(a, "-X")) {
			if (i + 1 >= argc || !strchr(argv[i + 1], '=')) {
				fprintf(err, "%s: -X needs KEY=VALUE\n", p->name);
				return FC_EINVAL;
			}
			rc = fc_opt_list_add(p, field(dst, p->props_off), p->props_name, argv[++i],
					     err);
			if (rc)
				return rc;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			fprintf(err, "%s: unexpected argument '%s' (see --help)\n", p->name, a);
			return FC_EINVAL;
		}
		name = a + 2;
		eq = strchr(name, '=');
		nlen = eq ? (size_t)(eq - name) : strlen(name);
		if (eq)
			val = eq + 1;
		f = find_flag(p, name, nlen);
		if (!f) {
			o = fc_opt_find(p, name, nlen);
			if (!o) {
				fprintf(err, "%s: unknown option '%s' (see --help)\n", p->name, a);
				return FC_EINVAL;
			}
		}
		/* a bare bool flag means true; everything else takes a value */
		if (!val && o && o->type == FC_OPT_BOOL) {
			val = "true";
		} else if (!val) {
			if (i + 1 >= argc) {
				fprintf(err, "%s: --%s needs a %s\n", p->name, f ? f->name : o->name,
					f ? f->arg : "value");
				return FC_EINVAL;
			}
			val = argv[++i];
		}
		rc = f ? f->apply(dst, val, err) : fc_opt_set(p, dst, o, val, err);
		if (rc)
			return rc;
	}
	return 0;
}
