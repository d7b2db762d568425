/*
 * slurm-aifactory policy library: the sections of a policy file, key by
 * key as docs/policy-schema.md lists them (the top level, billing,
 * operators, classes, projects and their grants), with their defaults
 * and the checks between keys.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_load.h"
#include "text.h"

#define PROJECT_RULE "1-63 characters of [a-z0-9_.-]"

static bool _has_upper(const char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return true;
	return false;
}

static bool _in_list(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

/* Walk an object's members; the callback reports unknown keys itself. */
#define FOREACH_MEMBER(obj, key, val, it, end)				\
	for (struct json_object_iterator it = json_object_iter_begin(obj), \
	     end = json_object_iter_end(obj);				\
	     !json_object_iter_equal(&it, &end) &&			\
	     ((key) = json_object_iter_peek_name(&it),			\
	      (val) = json_object_iter_peek_value(&it), 1);		\
	     json_object_iter_next(&it))

static void _load_billing(struct loader *ld, const struct src *s,
			  const char *path, json_object *obj)
{
	struct aif_policy *p = ld->p;
	const char *key;
	json_object *val;

	if (!aif_ld_expect(ld, s, path, obj, json_type_object, "an object"))
		return;
	FOREACH_MEMBER(obj, key, val, it, end) {
		char kp[AIF_PATH_MAX];
		bool gpu = !strcmp(key, "gpu_weights");

		aif_ld_path_key(kp, path, key);
		if (gpu || !strcmp(key, "qos_weights")) {
			struct aif_gpu_weight *w;
			const char *name;
			json_object *wv;
			size_t n = 0;

			if (!aif_ld_expect(ld, s, kp, val, json_type_object,
					   "an object"))
				continue;
			w = aif_ld_arena(ld, json_object_object_length(val) + 1,
					 sizeof(*w));
			if (!w)
				return;
			FOREACH_MEMBER(val, name, wv, wit, wend) {
				char wp[AIF_PATH_MAX];

				aif_ld_path_key(wp, kp, name);
				if (!aif_ld_is_name(name)) {
					aif_ld_err(ld, s, wp,
						   "not a valid %s name ("
						   NAME_RULE ")",
						   gpu ? "GPU type" : "QOS");
					continue;
				}
				if (!aif_ld_get_weight(ld, s, wp, wv,
						       &w[n].weight))
					continue;
				aif_copy(w[n].type, sizeof(w[n].type), name);
				n++;
			}
			aif_ld_sort(w, n, sizeof(*w), aif_cmp_gpu_weight);
			if (gpu) {
				p->gpu_weights = w;
				p->ngpu_weights = n;
			} else {
				p->qos_weights = w;
				p->nqos_weights = n;
			}
		} else if (!strcmp(key, "default_gpu_weight")) {
			if (aif_ld_get_weight(ld, s, kp, val,
					      &p->default_gpu_weight))
				p->has_default_gpu_weight = true;
		} else {
			aif_ld_err(ld, s, kp, "unknown key");
		}
	}
}

static void _load_operators(struct loader *ld, const struct src *s,
			    const char *path, json_object *obj)
{
	struct aif_policy *p = ld->p;
	const char *key;
	json_object *val;

	if (!aif_ld_expect(ld, s, path, obj, json_type_object, "an object"))
		return;
	FOREACH_MEMBER(obj, key, val, it, end) {
		char kp[AIF_PATH_MAX];

		aif_ld_path_key(kp, path, key);
		if (!strcmp(key, "users"))
			aif_ld_get_list(ld, s, kp, val, LIST_USER, false,
					&p->operator_users,
					&p->noperator_users);
		else if (!strcmp(key, "groups"))
			aif_ld_get_list(ld, s, kp, val, LIST_GROUP, false,
					&p->operator_groups,
					&p->noperator_groups);
		else
			aif_ld_err(ld, s, kp, "unknown key");
	}
}

static void _check_thresholds(struct loader *ld, const struct src *s,
			      const char *path, json_object *v,
			      struct aif_class *c)
{
	char ip[AIF_PATH_MAX], text[64], prev[64];
	size_t n, i;

	if (!aif_ld_expect(ld, s, path, v, json_type_array, "an array"))
		return;
	n = json_object_array_length(v);
	if (!(c->thresholds = aif_ld_arena(ld, n ? n : 1, sizeof(double))))
		return;
	c->nthresholds = n;
	for (i = 0; i < n; i++) {
		double *t = &c->thresholds[i];

		aif_ld_path_index(ip, path, i);
		if (!aif_ld_get_number(ld, s, ip,
				       json_object_array_get_idx(v, i), t))
			continue;
		aif_ld_num_text(s, ip, *t, text, sizeof(text));
		if (!(*t > 0 && *t <= 1)) {
			aif_ld_err(ld, s, ip, "must be in (0, 1], got %s",
				   text);
			continue;
		}
		if (i && c->thresholds[i - 1] > 0 &&
		    c->thresholds[i - 1] <= 1 && *t <= c->thresholds[i - 1]) {
			char pp[AIF_PATH_MAX];

			aif_ld_path_index(pp, path, i - 1);
			aif_ld_err(ld, s, ip, "must be above the one before it "
				   "(%s), got %s",
				   aif_ld_num_text(s, pp, c->thresholds[i - 1],
						   prev, sizeof(prev)), text);
		}
	}
}

/* A number in [0, 1] into *out: true, or false with the error said. */
static bool _get_fraction(struct loader *ld, const struct src *s,
			  const char *path, json_object *v, double *out)
{
	double d;
	char text[64];

	if (!aif_ld_get_number(ld, s, path, v, &d))
		return false;
	if (d < 0 || d > 1) {
		aif_ld_err(ld, s, path, "must be in [0, 1], got %s",
			   aif_ld_num_text(s, path, d, text, sizeof(text)));
		return false;
	}
	*out = d;
	return true;
}

/* A shaping value: an integer from 1 to max, or "auto". */
static void _get_shape(struct loader *ld, const struct src *s,
		       const char *path, json_object *v, int64_t max,
		       uint32_t *out)
{
	int64_t n;

	if (json_object_is_type(v, json_type_string)) {
		char q[QUOTE_MAX + 8];

		if (!strcmp(json_object_get_string(v), "auto")) {
			*out = AIF_SHAPE_AUTO;
			return;
		}
		aif_ld_quote(json_object_get_string(v), q, sizeof(q));
		aif_ld_err(ld, s, path, "must be an integer from 1 to %" PRId64
			   " or \"auto\", got \"%s\"", max, q);
		return;
	}
	if (aif_ld_get_int(ld, s, path, v, 1, max, &n))
		*out = (uint32_t) n;
}

/* The class's share as written, or "0" when it has none. */
static const char *_share_text(const struct src *s, const char *path,
			       double share, char *buf, size_t len)
{
	char kp[AIF_PATH_MAX];

	aif_ld_path_key(kp, path, "share");
	return aif_ld_num_text(s, kp, share, buf, len);
}

/* "priority": the weights of SITE's two parts, in SLURM's priority
 * points. Each at most AIF_PRIORITY_WEIGHT_MAX, so that SITE stays
 * within what scontrol and slurmctld's NICE_OFFSET carry (2^31 - 3). */
static void _load_priority(struct loader *ld, const struct src *s,
			   const char *path, json_object *obj)
{
	struct aif_priority_weights *w = &ld->p->priority;
	const char *key;
	json_object *val;

	if (!aif_ld_expect(ld, s, path, obj, json_type_object, "an object"))
		return;
	FOREACH_MEMBER(obj, key, val, it, end) {
		char kp[AIF_PATH_MAX];
		int64_t v;

		aif_ld_path_key(kp, path, key);
		if (!strcmp(key, "class_weight")) {
			if (aif_ld_get_int(ld, s, kp, val, 0,
					   AIF_PRIORITY_WEIGHT_MAX, &v))
				w->class_weight = (uint32_t) v;
		} else if (!strcmp(key, "pacing_weight")) {
			if (aif_ld_get_int(ld, s, kp, val, 0,
					   AIF_PRIORITY_WEIGHT_MAX, &v))
				w->pacing_weight = (uint32_t) v;
		} else {
			aif_ld_err(ld, s, kp, "unknown key");
		}
	}
}

/* "metrics": the Prometheus textfile slurmctld keeps (docs/metrics.md):
 * an absolute path ending in ".prom" (node_exporter's textfile collector
 * reads those) and every how many seconds. */
static void _load_metrics(struct loader *ld, const struct src *s,
			  const char *path, json_object *obj)
{
	const char *key;
	json_object *val;
	bool have_file = false;

	if (!aif_ld_expect(ld, s, path, obj, json_type_object, "an object"))
		return;
	FOREACH_MEMBER(obj, key, val, it, end) {
		char kp[AIF_PATH_MAX];
		const char *str;
		int64_t v;
		size_t len;

		aif_ld_path_key(kp, path, key);
		if (!strcmp(key, "file")) {
			have_file = true;
			if (!(str = aif_ld_get_string(ld, s, kp, val)))
				continue;
			len = strlen(str);
			if (str[0] != '/' || len > 255)
				aif_ld_err(ld, s, kp, "must be an absolute path of at most 255 bytes");
			else if (len < 6 || strcmp(str + len - 5, ".prom"))
				aif_ld_err(ld, s, kp, "must end in \".prom\" (node_exporter's textfile collector reads only those)");
			else
				ld->p->metrics_file = aif_ld_arena_strdup(ld, str);
		} else if (!strcmp(key, "interval")) {
			if (aif_ld_get_int(ld, s, kp, val, 5, 3600, &v))
				ld->p->metrics_interval = (unsigned) v;
		} else {
			aif_ld_err(ld, s, kp, "unknown key");
		}
	}
	if (!have_file)
		aif_ld_err_missing(ld, s, path, "file");
}

static void _load_class(struct loader *ld, const struct src *s,
			const char *path, const char *name, json_object *obj,
			struct aif_class *c)
{
	static double default_thresholds[] = { 0.8, 1.0 };
	bool have_default_time = false, have_default_partition = false;
	bool have_allowed_qos = false, have_lend_limit = false;
	char **allowed = NULL;
	size_t nallowed = 0;
	int action_line = 0;
	const char *key;
	json_object *val;

	aif_copy(c->name, sizeof(c->name), name);
	c->max_gpus_per_job = AIF_UNLIMITED;
	c->max_gpus_per_node = AIF_UNLIMITED;
	c->max_nodes_per_job = AIF_UNLIMITED;
	c->max_time = AIF_UNLIMITED;
	c->default_time = AIF_UNLIMITED;
	c->exhausted_action = AIF_EXHAUSTED_REFUSE;
	c->thresholds = default_thresholds;
	c->nthresholds = 2;
	c->metered = true;
	c->borrow_limit = -1;
	c->pacing = true;

	if (!aif_ld_is_name(name))
		aif_ld_err(ld, s, path, "not a valid class name (" NAME_RULE
			   ")");
	if (!aif_ld_expect(ld, s, path, obj, json_type_object, "an object"))
		return;

	FOREACH_MEMBER(obj, key, val, it, end) {
		char kp[AIF_PATH_MAX];

		aif_ld_path_key(kp, path, key);
		if (!strcmp(key, "description")) {
			const char *str = aif_ld_get_string(ld, s, kp, val);

			if (str)
				c->description = aif_ld_arena_strdup(ld, str);
		} else if (!strcmp(key, "max_gpus_per_job")) {
			aif_ld_get_limit(ld, s, kp, val, 0,
					 &c->max_gpus_per_job);
		} else if (!strcmp(key, "max_gpus_per_node")) {
			aif_ld_get_limit(ld, s, kp, val, 0,
					 &c->max_gpus_per_node);
		} else if (!strcmp(key, "max_nodes_per_job")) {
			aif_ld_get_limit(ld, s, kp, val, 1,
					 &c->max_nodes_per_job);
		} else if (!strcmp(key, "max_time")) {
			aif_ld_get_time(ld, s, kp, val, &c->max_time);
		} else if (!strcmp(key, "default_time")) {
			have_default_time = aif_ld_get_time(ld, s, kp, val,
							    &c->default_time);
		} else if (!strcmp(key, "partitions")) {
			aif_ld_get_list(ld, s, kp, val, LIST_NAME, true,
					&c->partitions, &c->npartitions);
		} else if (!strcmp(key, "default_partition")) {
			have_default_partition =
				aif_ld_get_name(ld, s, kp, val,
						c->default_partition);
		} else if (!strcmp(key, "gpu_types")) {
			aif_ld_get_list(ld, s, kp, val, LIST_NAME, true,
					&c->gpu_types, &c->ngpu_types);
		} else if (!strcmp(key, "qos")) {
			aif_ld_get_name(ld, s, kp, val, c->qos);
		} else if (!strcmp(key, "allowed_qos")) {
			have_allowed_qos = aif_ld_get_list(ld, s, kp, val,
							   LIST_NAME, false,
							   &allowed, &nallowed);
		} else if (!strcmp(key, "require_gpus")) {
			aif_ld_get_bool(ld, s, kp, val, &c->require_gpus);
		} else if (!strcmp(key, "metered")) {
			aif_ld_get_bool(ld, s, kp, val, &c->metered);
		} else if (!strcmp(key, "exhausted_action")) {
			const char *str = aif_ld_get_string(ld, s, kp, val);
			char q[QUOTE_MAX + 8];

			action_line = aif_ld_line_of(s, kp);
			if (!str)
				continue;
			if (!strcmp(str, "refuse")) {
				c->exhausted_action = AIF_EXHAUSTED_REFUSE;
			} else if (!strcmp(str, "fallback")) {
				c->exhausted_action = AIF_EXHAUSTED_FALLBACK;
			} else {
				aif_ld_quote(str, q, sizeof(q));
				aif_ld_err(ld, s, kp, "must be \"refuse\" or "
					   "\"fallback\", got \"%s\"", q);
			}
		} else if (!strcmp(key, "fallback_qos")) {
			aif_ld_get_name(ld, s, kp, val, c->fallback_qos);
		} else if (!strcmp(key, "thresholds")) {
			_check_thresholds(ld, s, kp, val, c);
		} else if (!strcmp(key, "share")) {
			_get_fraction(ld, s, kp, val, &c->share);
		} else if (!strcmp(key, "borrow_limit")) {
			_get_fraction(ld, s, kp, val, &c->borrow_limit);
		} else if (!strcmp(key, "lend_limit")) {
			have_lend_limit = _get_fraction(ld, s, kp, val,
							&c->lend_limit);
		} else if (!strcmp(key, "pacing")) {
			aif_ld_get_bool(ld, s, kp, val, &c->pacing);
		} else if (!strcmp(key, "cpus_per_gpu")) {
			_get_shape(ld, s, kp, val, AIF_SHAPE_CPUS_MAX,
				   &c->cpus_per_gpu);
		} else if (!strcmp(key, "max_cpus_per_gpu")) {
			_get_shape(ld, s, kp, val, AIF_SHAPE_CPUS_MAX,
				   &c->max_cpus_per_gpu);
		} else if (!strcmp(key, "mem_per_gpu")) {
			_get_shape(ld, s, kp, val, AIF_SHAPE_MEM_MAX,
				   &c->mem_per_gpu);
		} else if (!strcmp(key, "bind")) {
			const char *str = aif_ld_get_string(ld, s, kp, val);
			char q[QUOTE_MAX + 8];

			if (!str)
				continue;
			if (!strcmp(str, "auto") || !strcmp(str, "strict") ||
			    !strcmp(str, "none")) {
				aif_copy(c->bind, sizeof(c->bind), str);
			} else {
				aif_ld_quote(str, q, sizeof(q));
				aif_ld_err(ld, s, kp, "must be \"auto\", "
					   "\"strict\" or \"none\", got \"%s\"",
					   q);
			}
		} else {
			aif_ld_err(ld, s, kp, "unknown key");
		}
	}

	/* Defaults and cross-checks (docs/policy-schema.md, "A class"). */
	if (c->cpus_per_gpu && c->max_cpus_per_gpu &&
	    c->cpus_per_gpu != AIF_SHAPE_AUTO &&
	    c->max_cpus_per_gpu != AIF_SHAPE_AUTO &&
	    c->cpus_per_gpu > c->max_cpus_per_gpu) {
		char kp[AIF_PATH_MAX];

		aif_ld_path_key(kp, path, "cpus_per_gpu");
		aif_ld_err(ld, s, kp, "%u exceeds max_cpus_per_gpu %u",
			   c->cpus_per_gpu, c->max_cpus_per_gpu);
	}
	if (have_default_partition && c->npartitions &&
	    !_in_list(c->partitions, c->npartitions, c->default_partition)) {
		char kp[AIF_PATH_MAX];

		aif_ld_path_key(kp, path, "default_partition");
		aif_ld_err(ld, s, kp, "\"%s\" is not one of partitions",
			   c->default_partition);
	}
	if (!have_default_partition && c->npartitions && c->partitions[0][0])
		aif_copy(c->default_partition, sizeof(c->default_partition),
			    c->partitions[0]);

	if (!have_default_time) {
		c->default_time = c->max_time;
	} else if (c->max_time != AIF_UNLIMITED &&
		   c->default_time > c->max_time) {
		char kp[AIF_PATH_MAX], dt[32], mt[32];

		aif_ld_path_key(kp, path, "default_time");
		aif_format_minutes(c->default_time, dt, sizeof(dt));
		aif_format_minutes(c->max_time, mt, sizeof(mt));
		aif_ld_err(ld, s, kp, "%s exceeds max_time %s", dt, mt);
	}

	/* A class lends all of its share unless it says otherwise. */
	if (!have_lend_limit) {
		c->lend_limit = c->share;
	} else if (c->lend_limit > c->share) {
		char kp[AIF_PATH_MAX], a[64], b[64];

		aif_ld_path_key(kp, path, "lend_limit");
		aif_ld_err(ld, s, kp, "%s exceeds share %s",
			   aif_ld_num_text(s, kp, c->lend_limit, a, sizeof(a)),
			   _share_text(s, path, c->share, b, sizeof(b)));
	}

	/* allowed_qos always holds qos. */
	if (!have_allowed_qos)
		nallowed = 0;
	if (c->qos[0] && !_in_list(allowed, nallowed, c->qos)) {
		char **list = aif_ld_arena(ld, nallowed + 1, sizeof(*list));

		if (!list)
			return;
		if (nallowed)
			memcpy(list, allowed, nallowed * sizeof(*list));
		/* A copy: c itself moves when the classes are sorted. */
		if (!(list[nallowed++] = aif_ld_arena_strdup(ld, c->qos)))
			return;
		allowed = list;
	}
	c->allowed_qos = allowed;
	c->nallowed_qos = nallowed;

	if (c->exhausted_action == AIF_EXHAUSTED_FALLBACK &&
	    !c->fallback_qos[0]) {
		char kp[AIF_PATH_MAX];

		aif_ld_path_key(kp, path, "fallback_qos");
		aif_ld_err_line(ld, s, action_line, kp, "missing (required "
				"when exhausted_action is \"fallback\")");
	}
}

static void _load_classes(struct loader *ld, const struct src *s,
			  json_object *obj)
{
	struct aif_policy *p = ld->p;
	const char *key;
	json_object *val;
	size_t n;

	if (!aif_ld_expect(ld, s, "classes", obj, json_type_object,
			   "an object"))
		return;
	if (!(n = json_object_object_length(obj))) {
		aif_ld_err(ld, s, "classes", "at least one class is required");
		return;
	}
	if (!(p->classes = aif_ld_arena(ld, n, sizeof(*p->classes))))
		return;
	FOREACH_MEMBER(obj, key, val, it, end) {
		char kp[AIF_PATH_MAX];

		aif_ld_path_key(kp, "classes", key);
		_load_class(ld, s, kp, key, val, &p->classes[p->nclasses++]);
	}
	aif_ld_sort(p->classes, p->nclasses, sizeof(*p->classes),
		    aif_cmp_class);
}

/*
 * A name that must be one of a top-level list, when that list is given
 * (modes, sectors: sorted once loaded, as every project looks them up).
 */
static void _check_member_of(struct loader *ld, const struct src *s,
			     const char *path, const char *name, bool given,
			     char **list, size_t n, const char *list_name)
{
	if (given && name[0] && (!n || !bsearch(&name, list, n, sizeof(*list),
						aif_cmp_str)))
		aif_ld_err(ld, s, path, "\"%s\" is not one of %s", name,
			   list_name);
}

/* valid_until must not be before valid_from (a grant's, a project's). */
static void _check_dates(struct loader *ld, const struct src *s,
			 const char *path, json_object *obj, time_t from,
			 time_t until)
{
	char kp[AIF_PATH_MAX];

	if (until >= from)
		return;
	aif_ld_path_key(kp, path, "valid_until");
	aif_ld_err(ld, s, kp, "\"%s\" is before valid_from \"%s\"",
		   json_object_get_string(
			   json_object_object_get(obj, "valid_until")),
		   json_object_get_string(
			   json_object_object_get(obj, "valid_from")));
}

static void _load_grant(struct loader *ld, const struct src *s,
			const char *path, json_object *obj,
			struct aif_grant *g)
{
	struct aif_policy *p = ld->p;
	bool have_name = false, have_hours = false;
	bool have_from = false, have_until = false;
	const char *key;
	json_object *val;

	if (!aif_ld_expect(ld, s, path, obj, json_type_object, "an object"))
		return;
	FOREACH_MEMBER(obj, key, val, it, end) {
		char kp[AIF_PATH_MAX], text[64];

		aif_ld_path_key(kp, path, key);
		if (!strcmp(key, "name")) {
			have_name = true;
			aif_ld_get_name(ld, s, kp, val, g->name);
		} else if (!strcmp(key, "gpu_hours")) {
			have_hours = true;
			if (aif_ld_get_number(ld, s, kp, val, &g->gpu_hours) &&
			    !(g->gpu_hours > 0))
				aif_ld_err(ld, s, kp, "must be > 0, got %s",
					   aif_ld_num_text(s, kp, g->gpu_hours,
							   text, sizeof(text)));
		} else if (!strcmp(key, "valid_from")) {
			have_from = aif_ld_get_date(ld, s, kp, val, false,
						    &g->valid_from);
		} else if (!strcmp(key, "valid_until")) {
			have_until = aif_ld_get_date(ld, s, kp, val, true,
						     &g->valid_until);
		} else if (!strcmp(key, "mode")) {
			if (aif_ld_get_name(ld, s, kp, val, g->mode))
				_check_member_of(ld, s, kp, g->mode,
						 p->has_modes, p->modes,
						 p->nmodes, "modes");
		} else if (!strcmp(key, "gpu_type")) {
			aif_ld_get_name(ld, s, kp, val, g->gpu_type);
		} else {
			aif_ld_err(ld, s, kp, "unknown key");
		}
	}
	if (!have_name)
		aif_ld_err_missing(ld, s, path, "name");
	if (!have_hours)
		aif_ld_err_missing(ld, s, path, "gpu_hours");
	if (!json_object_object_get_ex(obj, "valid_from", NULL))
		aif_ld_err_missing(ld, s, path, "valid_from");
	if (!json_object_object_get_ex(obj, "valid_until", NULL))
		aif_ld_err_missing(ld, s, path, "valid_until");
	if (have_from && have_until)
		_check_dates(ld, s, path, obj, g->valid_from, g->valid_until);
}

static void _load_grants(struct loader *ld, const struct src *s,
			 const char *path, json_object *v,
			 struct aif_project *pr)
{
	struct list_item *sorted;
	size_t n, i, first;

	if (!aif_ld_expect(ld, s, path, v, json_type_array, "an array"))
		return;
	n = json_object_array_length(v);
	if (!(pr->grants = aif_ld_arena(ld, n ? n : 1, sizeof(*pr->grants))))
		return;
	pr->ngrants = n;
	for (i = 0; i < n; i++) {
		char ip[AIF_PATH_MAX];

		aif_ld_path_index(ip, path, i);
		_load_grant(ld, s, ip, json_object_array_get_idx(v, i),
			    &pr->grants[i]);
	}
	/* Duplicate names, each against the first grant of that name. */
	if (!(sorted = aif_ld_calloc(ld, n, sizeof(*sorted))))
		return;
	for (i = 0; i < n; i++)
		sorted[i] = (struct list_item) { pr->grants[i].name, i };
	aif_ld_sort(sorted, n, sizeof(*sorted), aif_ld_cmp_list_item);
	for (i = 1, first = 0; i < n; i++) {
		char ip[AIF_PATH_MAX], kp[AIF_PATH_MAX];

		if (strcmp(sorted[i].s, sorted[first].s)) {
			first = i;
			continue;
		}
		if (!sorted[i].s[0])
			continue;
		aif_ld_path_index(ip, path, sorted[i].i);
		aif_ld_path_key(kp, ip, "name");
		aif_ld_err(ld, s, kp, "duplicate grant name \"%s\" (also "
			   "grants[%zu])", sorted[i].s, sorted[first].i);
	}
	free(sorted);
}

/* Why name cannot be a project, or NULL. */
const char *aif_ld_project_name_problem(const char *name)
{
	if (!aif_ld_is_name(name))
		return "not a valid project name (" PROJECT_RULE ")";
	if (_has_upper(name))
		return "project names must be lowercase (SLURM lowercases "
		       "accounts)";
	return NULL;
}

static void _load_project(struct loader *ld, const struct src *s,
			  const char *path, const char *name,
			  json_object *obj, struct aif_project *pr)
{
	struct aif_policy *p = ld->p;
	bool have_class = false, have_mode = false;
	bool have_from = false, have_until = false;
	const char *key;
	json_object *val;

	aif_copy(pr->name, sizeof(pr->name), name);
	pr->pacing = -1;
	pr->source = (char *) s->source;
	pr->line = aif_ld_line_of(s, path);
	if (!aif_ld_expect(ld, s, path, obj, json_type_object, "an object"))
		return;

	FOREACH_MEMBER(obj, key, val, it, end) {
		char kp[AIF_PATH_MAX], cname[AIF_NAME_MAX];

		aif_ld_path_key(kp, path, key);
		if (!strcmp(key, "class")) {
			have_class = true;
			if (!aif_ld_get_name(ld, s, kp, val, cname))
				continue;
			if (!(pr->klass = aif_policy_class(p, cname)))
				aif_ld_err(ld, s, kp, "unknown class \"%s\"",
					   cname);
		} else if (!strcmp(key, "mode")) {
			have_mode = true;
			if (aif_ld_get_name(ld, s, kp, val, pr->mode))
				_check_member_of(ld, s, kp, pr->mode,
						 p->has_modes, p->modes,
						 p->nmodes, "modes");
		} else if (!strcmp(key, "sector")) {
			if (aif_ld_get_name(ld, s, kp, val, pr->sector))
				_check_member_of(ld, s, kp, pr->sector,
						 p->has_sectors, p->sectors,
						 p->nsectors, "sectors");
		} else if (!strcmp(key, "description")) {
			/* Checked, not kept: nothing reads it at runtime. */
			aif_ld_get_string(ld, s, kp, val);
		} else if (!strcmp(key, "valid_from")) {
			have_from = aif_ld_get_date(ld, s, kp, val, false,
						    &pr->valid_from);
		} else if (!strcmp(key, "valid_until")) {
			have_until = aif_ld_get_date(ld, s, kp, val, true,
						     &pr->valid_until);
		} else if (!strcmp(key, "users")) {
			aif_ld_get_list(ld, s, kp, val, LIST_USER, false,
					&pr->users, &pr->nusers);
		} else if (!strcmp(key, "groups")) {
			aif_ld_get_list(ld, s, kp, val, LIST_GROUP, false,
					&pr->groups, &pr->ngroups);
		} else if (!strcmp(key, "grants")) {
			_load_grants(ld, s, kp, val, pr);
		} else if (!strcmp(key, "pacing")) {
			bool on;

			if (aif_ld_get_bool(ld, s, kp, val, &on))
				pr->pacing = on;
		} else {
			aif_ld_err(ld, s, kp, "unknown key");
		}
	}
	if (!have_class)
		aif_ld_err_missing(ld, s, path, "class");
	if (!have_mode)
		aif_ld_err_missing(ld, s, path, "mode");
	if (have_from && have_until)
		_check_dates(ld, s, path, obj, pr->valid_from,
			     pr->valid_until);
}

/* The lines of a member list's names, into ld->lines: where they start. */
static size_t _member_lines(struct loader *ld, const struct src *s,
			    const char *path, size_t nusers, size_t ngroups)
{
	size_t first = ld->nlines;
	char kp[AIF_PATH_MAX], ip[AIF_PATH_MAX];

	for (size_t i = 0; i < nusers + ngroups; i++) {
		if (ld->nlines == ld->cap_lines) {
			int *v = aif_ld_more(ld, ld->lines, &ld->cap_lines,
					     sizeof(*v));

			if (!v)
				return first;
			ld->lines = v;
		}
		aif_ld_path_key(kp, path, i < nusers ? "users" : "groups");
		aif_ld_path_index(ip, kp, i < nusers ? i : i - nusers);
		ld->lines[ld->nlines++] = aif_ld_line_of(s, ip);
	}
	return first;
}

/* Load one project, from the main file or a project file, and keep it. */
void aif_ld_add_project(struct loader *ld, const struct src *s,
			 const char *path, const char *name, json_object *obj)
{
	struct loaded_project *lp;

	if (ld->nloaded == ld->cap_loaded) {
		struct loaded_project *v = aif_ld_more(ld, ld->loaded,
						       &ld->cap_loaded,
						       sizeof(*v));

		if (!v)
			return;
		ld->loaded = v;
	}
	lp = &ld->loaded[ld->nloaded++];
	memset(lp, 0, sizeof(*lp));
	_load_project(ld, s, path, name, obj, &lp->proj);
	lp->info = (struct project_info) {
		.file = s->source,
		.order = s->order,
		.line = lp->proj.line,
		.lines = _member_lines(ld, s, path, lp->proj.nusers,
				       lp->proj.ngroups),
	};
}

/* The top level of the main file, with the projects written in it. */
bool aif_ld_load_main(struct loader *ld)
{
	struct aif_policy *p = ld->p;
	const struct src *s = &ld->main;
	json_object *root = s->root, *val, *projects = NULL;
	bool have_classes = false, overflow;
	const char *key;
	int64_t version;

	/* A file for another schema version would drown its one useful
	 * error in unknown keys: check the version alone first. */
	if (!json_object_object_get_ex(root, "version", &val)) {
		aif_ld_err_missing(ld, s, "", "version");
		return false;
	}
	if (!aif_ld_int_value(ld, s, "version", val, &version, &overflow))
		return false;
	if (overflow || version != AIF_POLICY_VERSION) {
		char text[64];

		if (!aif_ld_text_of(s, "version", text, sizeof(text)))
			snprintf(text, sizeof(text), "%" PRId64, version);
		aif_ld_err(ld, s, "version", "unsupported version %s (this "
			   "build reads version %d)", text, AIF_POLICY_VERSION);
		return false;
	}

	/* modes and sectors first: projects check against them. */
	if (json_object_object_get_ex(root, "modes", &val)) {
		p->has_modes = true;
		aif_ld_get_list(ld, s, "modes", val, LIST_NAME, false,
				&p->modes, &p->nmodes);
		aif_ld_sort(p->modes, p->nmodes, sizeof(*p->modes),
			    aif_cmp_str);
	}
	if (json_object_object_get_ex(root, "sectors", &val)) {
		p->has_sectors = true;
		aif_ld_get_list(ld, s, "sectors", val, LIST_NAME, false,
				&p->sectors, &p->nsectors);
		aif_ld_sort(p->sectors, p->nsectors, sizeof(*p->sectors),
			    aif_cmp_str);
	}
	FOREACH_MEMBER(root, key, val, it, end) {
		if (!strcmp(key, "version") || !strcmp(key, "modes") ||
		    !strcmp(key, "sectors")) {
			continue;
		} else if (!strcmp(key, "project_dir")) {
			const char *str = aif_ld_get_string(ld, s, key, val);

			if (str && !str[0]) {
				aif_ld_err(ld, s, key, "must not be empty");
			} else if (str) {
				free(ld->project_dir);
				ld->project_dir = aif_ld_strdup(ld, str);
				ld->project_dir_line = aif_ld_line_of(s, key);
			}
		} else if (!strcmp(key, "balance_port")) {
			int64_t port;

			if (aif_ld_get_int(ld, s, key, val, 1, 65535, &port))
				p->balance_port = (uint16_t) port;
		} else if (!strcmp(key, "operators")) {
			_load_operators(ld, s, key, val);
		} else if (!strcmp(key, "billing")) {
			_load_billing(ld, s, key, val);
		} else if (!strcmp(key, "priority")) {
			_load_priority(ld, s, key, val);
		} else if (!strcmp(key, "metrics")) {
			_load_metrics(ld, s, key, val);
		} else if (!strcmp(key, "classes")) {
			have_classes = true;
			_load_classes(ld, s, val);
		} else if (!strcmp(key, "projects")) {
			if (aif_ld_expect(ld, s, key, val, json_type_object,
					  "an object"))
				projects = val;
		} else {
			char kp[AIF_PATH_MAX];

			/* As the scanner wrote it: its line is found. */
			aif_ld_path_key(kp, "", key);
			aif_ld_err(ld, s, kp, "unknown key");
		}
	}
	if (!have_classes)
		aif_ld_err_missing(ld, s, "", "classes");
	ld->operator_lines = _member_lines(ld, s, "operators",
					   p->noperator_users,
					   p->noperator_groups);

	/* After the classes, which projects name. */
	if (projects) {
		FOREACH_MEMBER(projects, key, val, it, end) {
			char kp[AIF_PATH_MAX];
			const char *why;

			aif_ld_path_key(kp, "projects", key);
			if ((why = aif_ld_project_name_problem(key)))
				aif_ld_err(ld, s, kp, "%s", why);
			aif_ld_add_project(ld, s, kp, key, val);
		}
	}
	return !ld->oom;
}
