/*
 * libFuzzer target: the balance service's request parser (common/query.c),
 * both steps: what a client sent, up to the credential; and a decoded
 * payload, to the project it asks about. The same bytes go through each.
 *
 * Invariants: a whole request's credential is within the bytes read and
 * the request bound, made of a credential's characters; a project
 * accepted is a valid project name, bounded; every refusal says why in
 * text safe for a terminal (ASCII printable, or for an echoed name valid
 * UTF-8 with no control character).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "query.h"

#define CHECK(cond) fuzz_assert(cond, "size %zu", size)

/* Valid UTF-8, no C0, DEL or C1 control. */
static int _safe_text(const char *s)
{
	const unsigned char *u = (const unsigned char *) s;

	while (*u) {
		unsigned n, cp;

		if (*u < 0x80) {
			if (*u < 0x20 || *u == 0x7f)
				return 0;
			u++;
			continue;
		}
		if (*u >= 0xc2 && *u <= 0xdf)
			n = 2, cp = *u & 0x1f;
		else if (*u >= 0xe0 && *u <= 0xef)
			n = 3, cp = *u & 0x0f;
		else if (*u >= 0xf0 && *u <= 0xf4)
			n = 4, cp = *u & 0x07;
		else
			return 0;
		for (unsigned k = 1; k < n; k++) {
			if ((u[k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (u[k] & 0x3f);
		}
		if (cp < 0xa0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		u += n;
	}
	return 1;
}

static int _project_name(const char *s)
{
	size_t n = strlen(s);

	if (n >= AIF_QUERY_PROJECT_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[512], project[AIF_QUERY_PROJECT_MAX];
	size_t cred_len = 12345;
	bool json;
	int rc;

	/* A copy of exactly size bytes: ASan sees any read past them. */
	char *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);

	rc = aif_query_parse_request(buf, size, &cred_len, why, sizeof(why));
	CHECK(rc >= -1 && rc <= 1);
	if (rc == 1) {
		CHECK(cred_len >= 6 && cred_len < size &&
		      cred_len < AIF_QUERY_REQUEST_MAX);
		CHECK(buf[cred_len] == '\n');
		CHECK(!memcmp(buf, "MUNGE:", 6));
		CHECK(!memchr(buf, '\n', cred_len) && !memchr(buf, '\0', cred_len));
	} else if (rc == 0) {
		CHECK(size < AIF_QUERY_REQUEST_MAX && !memchr(buf, '\n', size));
	} else {
		CHECK(why[0] && _safe_text(why));
		for (const char *c = why; *c; c++)
			CHECK(*c >= 0x20 && *c < 0x7f);
	}

	rc = aif_query_parse_payload(buf, size, project, &json, why,
				     sizeof(why));
	CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		CHECK(_project_name(project));
		CHECK(project[0] || (size >= 1 && buf[size - 1] == '-'));
		CHECK(json == (size > 25 &&
			       !memcmp(buf, "aifactory-balance-json 1 ", 25)));
	} else {
		CHECK(why[0] && _safe_text(why) && strlen(why) < sizeof(why) - 1);
	}

	/* aifctl priority's payloads: names as the policy's, or refused. */
	{
		struct aif_priority_ask ask;

		rc = aif_query_parse_priority(buf, size, &ask, why,
					      sizeof(why));
		CHECK(rc >= -1 && rc <= 1);
		if (rc == 1) {
			CHECK(ask.what != AIF_PRIORITY_CLASSES ||
			      (!ask.project[0] && !ask.klass[0]));
			CHECK(ask.what == AIF_PRIORITY_CLASSES ||
			      _project_name(ask.project));
			CHECK(ask.what != AIF_PRIORITY_JOB || ask.klass[0]);
		} else if (rc == -1) {
			CHECK(!strcmp(why, "not a priority query"));
		}
	}
	free(buf);
	return 0;
}
