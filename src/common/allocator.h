// Allocator settings for a process that runs image models on the CPU.
//
// Engines allocate and free tensors of tens of megabytes on every forward (a 512x512
// U-Net's activations are 16-64 MB each). With glibc's defaults such blocks are mmap'd
// and unmapped on every call (and in a thread's own arena they cannot come from its
// 64 MB heaps at all), so every forward page-faults and zeroes them again. Measured
// here for a 512x512 U-Net forward on a non-main thread: 790-1200 ms with the defaults,
// 420-440 ms with one arena, mmap only above 1 GiB and trimming only above 1 GiB free
// (docs/PERFORMANCE.md). The cost: up to 1 GiB of freed memory stays in the process for
// reuse instead of going back to the system at once.
//
// ConfigureAllocator applies those settings (M_ARENA_MAX 1, M_MMAP_THRESHOLD and
// M_TRIM_THRESHOLD 1 GiB) unless the environment variable INFERA_MALLOC is "default".
// Call it first thing in main(), before any thread starts. Returns whether the settings
// were applied. Not thread-safe.
#pragma once

namespace infera {

bool ConfigureAllocator();

}  // namespace infera
