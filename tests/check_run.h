/* SPDX-License-Identifier: MIT */
/*
 * check_run.h - the one main() of the Check suites: run a suite, name
 * every case in the log as it ends, and give make check its exit status.
 */
#ifndef GPUVM_TESTS_CHECK_RUN_H
#define GPUVM_TESTS_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

/**
 * check_run - run @s and free it
 *
 * Each case is printed by name with its result (CK_VERBOSE; CK_VERBOSITY
 * in the environment chooses otherwise), so a failure in a make check log
 * says which case and line, not only which program.
 * Return: 0 when every case passed, else 1.
 */
static inline int check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, getenv("CK_VERBOSITY") ? CK_ENV : CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#endif /* GPUVM_TESTS_CHECK_RUN_H */
