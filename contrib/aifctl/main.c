/*
 * aifctl: the command-line tool of slurm-aifactory, for operators, users
 * and auditors. It uses the same policy library as the plugins, so what
 * it says is what slurmctld would do. This file holds the usage and hands
 * each subcommand to its own file:
 *
 *   aifctl check [FILE]        validate a policy (check.c)
 *   aifctl explain [OPTIONS]   what job_submit/aifactory would decide
 *                              (explain.c)
 *   aifctl audit verify [DIR]  check the journal's hash chain; audit archive
 *                              (audit.c)
 *   aifctl balance [OPTIONS]   grants, charges, liens and burn rate
 *                              (balance.c)
 *   aifctl report [OPTIONS]    GPU-hours and runs per project, class...
 *                              (report.c)
 *   aifctl priority [...]      the SITE factor: classes, a project's
 *                              pacing, a job's parts (priority.c)
 *   aifctl topology show|gres|bind  a GPU node's hwloc topology,
 *                              its gres.conf, a task's binding
 *                              (topology.c)
 *
 * shared.c holds what they share; slurm.c what aifctl learns of SLURM.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <string.h>

#include "aifctl.h"

static const char usage_text[] =
	"usage: aifctl --version\n"
	"       aifctl check [FILE]\n"
	"       aifctl explain [--policy FILE] [--journal DIR] [-u USER] [-A PROJECT]\n"
	"                      [-p PARTITION]\n"
	"                      [-q QOS] [-t TIME] [-N NODES] [-n NTASKS]\n"
	"                      [--ntasks-per-node N] [--sockets-per-node N]\n"
	"                      [--gres=gpu[:TYPE]:N] [--gpus=[TYPE:]N]\n"
	"                      [--gpus-per-node=[TYPE:]N] [--gpus-per-task=[TYPE:]N]\n"
	"                      [--gpus-per-socket=[TYPE:]N] [-c N] [--cpus-per-gpu=N]\n"
	"                      [--mem=M | --mem-per-cpu=M | --mem-per-gpu=M]\n"
	"                      [--aif-bind=MODE]\n"
	"       aifctl audit verify [DIR]\n"
	"       aifctl audit archive [DIR] --to ARCHIVE\n"
	"       aifctl balance [-A PROJECT] [--json] [--policy FILE] [--journal DIR] [--port N]\n"
	"       aifctl report [--by class|project|sector|mode]\n"
	"                     [--month YYYY-MM | --from YYYY-MM-DD --to YYYY-MM-DD]\n"
	"                     [--format table|csv|json] [--journal DIR]\n"
	"       aifctl priority [--classes | -A PROJECT | JOBID] [--policy FILE] [--port N]\n"
	"       aifctl topology show [--xml XML] [--json]\n"
	"       aifctl topology gres [--xml XML] [--type TYPE] [--nic]\n"
	"       aifctl topology bind [--xml XML] --gpus LIST [--cores LIST]\n"
	"\n"
	"FILE defaults to aifactory.json next to slurm.conf ($SLURM_CONF,\n"
	"else /etc/slurm/slurm.conf); DIR to aifactory under StateSaveLocation,\n"
	"as 'scontrol show config' gives it. XML is an hwloc export (lstopo\n"
	"--of xml); without it, this machine.\n";

int aifctl_usage(FILE *f)
{
	fputs(usage_text, f);
	return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return aifctl_usage(stderr);
	if (!strcmp(argv[1], "check"))
		return aifctl_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "explain"))
		return aifctl_explain(argc - 1, argv + 1);
	if (!strcmp(argv[1], "audit"))
		return aifctl_audit(argc - 1, argv + 1);
	if (!strcmp(argv[1], "balance"))
		return aifctl_balance(argc - 1, argv + 1);
	if (!strcmp(argv[1], "priority"))
		return aifctl_priority(argc - 1, argv + 1);
	if (!strcmp(argv[1], "topology"))
		return aifctl_topology(argc - 1, argv + 1);
	if (!strcmp(argv[1], "report"))
		return aifctl_report(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version")) {
		printf("aifctl (slurm-aifactory) %s; its plugins are built for "
		       "SLURM %s\n", PACKAGE_VERSION, AIF_SLURM_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help"))
		return aifctl_usage(stdout);
	fprintf(stderr, "aifctl: unknown command '%s'\n\n", argv[1]);
	return aifctl_usage(stderr);
}
