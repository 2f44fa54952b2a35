// libFuzzer's driver, linked only when building with -sanitize=fuzzer (see hack/fuzz).
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
