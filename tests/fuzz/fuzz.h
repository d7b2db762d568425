/*
 * Helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.c): a
 * scratch directory of the process's own, files written into it, and the
 * invariants every target checks. A broken invariant aborts, which
 * libFuzzer reports as a crash with the input that caused it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_FUZZ_H
#define AIF_FUZZ_H

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Print why and abort: the fuzzer keeps the input. */
#define fuzz_assert(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz invariant broken: %s: ", #cond); \
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
			abort();					\
		}							\
	} while (0)

static int __attribute__((unused))
_fuzz_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static char fuzz_dir_path[64];

static void __attribute__((unused)) _fuzz_dir_remove(void)
{
	nftw(fuzz_dir_path, _fuzz_rm, 8, FTW_DEPTH | FTW_PHYS);
}

/* One directory for the whole run, made on first use, removed at exit:
 * on tmpfs when there is one (the journal target syncs). */
static const char * __attribute__((unused)) fuzz_dir(void)
{
	char *dir = fuzz_dir_path;

	if (!dir[0]) {
		const char *base = access("/dev/shm", W_OK) ? "/tmp" :
				   "/dev/shm";

		snprintf(dir, sizeof(fuzz_dir_path), "%s/aif-fuzz.XXXXXX",
			 base);
		if (!mkdtemp(dir)) {
			perror("fuzz: mkdtemp");
			abort();
		}
		chmod(dir, 0700);
		atexit(_fuzz_dir_remove);
	}
	return dir;
}

/* data into path (created mode 0600, replaced). */
static void __attribute__((unused))
fuzz_write(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t) size)) {
		perror(path);
		abort();
	}
	close(fd);
}

/* A message for a person: NUL-terminated within len, no control
 * characters (a hostile input must not reach a log or a terminal raw).
 * Tabs are allowed; bytes >= 0x80 are allowed (UTF-8). */
static int __attribute__((unused)) fuzz_printable(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && s[i]; i++)
		if (((unsigned char) s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f)
			return 0;
	return i < len;
}

static int _fuzz_cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The lines of a (la bytes) and b are the same, in any order: a table's
 * order of iteration is not part of what it says. */
static int __attribute__((unused))
fuzz_same_lines(const char *a, size_t la, const char *b, size_t lb)
{
	const char *text[2] = { a, b };
	size_t len[2] = { la, lb }, n[2] = { 0, 0 };
	char *copy[2], **line[2];
	int same;

	if (la != lb)
		return 0;
	for (int k = 0; k < 2; k++) {
		copy[k] = malloc(len[k] + 1);
		line[k] = malloc((len[k] + 1) * sizeof(char *));
		if (!copy[k] || !line[k])
			abort();
		memcpy(copy[k], text[k], len[k]);
		copy[k][len[k]] = '\0';
		for (char *p = copy[k], *nl; p; p = nl) {
			if ((nl = strchr(p, '\n')))
				*nl++ = '\0';
			line[k][n[k]++] = p;
		}
		qsort(line[k], n[k], sizeof(char *), _fuzz_cmp_line);
	}
	same = n[0] == n[1];
	for (size_t i = 0; same && i < n[0]; i++)
		same = !strcmp(line[0][i], line[1][i]);
	for (int k = 0; k < 2; k++) {
		free(copy[k]);
		free(line[k]);
	}
	return same;
}

#endif
