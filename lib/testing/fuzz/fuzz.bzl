"""chtools_fuzz_target: one libFuzzer target and the test replaying its corpus.

chtools_fuzz_target(name = "x_fuzzer", srcs = ["x_fuzzer.cc"], deps = [...])
makes, from a source defining LLVMFuzzerTestOneInput (and optionally
LLVMFuzzerInitialize):
  :x_fuzzer              the fuzzer: under --config=fuzz it links libFuzzer
                         (clang, ASan, UBSan); without it, the replay driver.
                         Tagged manual and fuzz_target (run_fuzzers.sh finds
                         it by that tag).
  :x_fuzzer_corpus_test  a cc_test that runs every input of
                         testdata/fuzz/x_fuzzer/ once (replay_main.cc); part of
                         `bazel test //...`, so each crash found and added to
                         the corpus stays fixed.
"""

def chtools_fuzz_target(name, srcs, deps = [], size = "small", corpus = None):
    corpus = corpus or "//testdata/fuzz:" + name
    native.cc_test(
        name = name + "_corpus_test",
        size = size,
        srcs = srcs,
        deps = deps + ["//lib/testing/fuzz:replay_main"],
        data = [corpus],
        args = ["testdata/fuzz/" + name],
        tags = ["fuzz_corpus"],
    )
    native.cc_binary(
        name = name,
        testonly = True,
        srcs = srcs,
        deps = deps + select({
            "//lib/testing/fuzz:fuzzing": [],
            "//conditions:default": ["//lib/testing/fuzz:replay_main"],
        }),
        linkopts = select({
            "//lib/testing/fuzz:fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        tags = ["manual", "fuzz_target"],
    )
