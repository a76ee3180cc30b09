// Test-only hook into the tracker's critical sections, to prove that a process
// killed while holding the lock leaves a region the next locker can repair.
#pragma once

namespace presence::testing {

// Called with a point id (0: meta committed, not yet linked; 1: meta unlinked,
// not yet freed; 2: a merge half applied; 3: a history sample written, not
// yet committed). Null (the default) in production.
using CrashHook = void (*)(int point) noexcept;
void set_crash_hook(CrashHook hook) noexcept;

}  // namespace presence::testing
