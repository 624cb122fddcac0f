// Audit writer throughput: records per second with hashing, locking and the chosen durability, next
// to plain appends of the same bytes (the floor any log pays). Run by bench/bench_audit_writer.sh.
//
//   audit_writer_bench DIR MODE COUNT
//   MODE: hash      serialise + SHA-256 only (no I/O)
//         raw       write() of the same lines to one file, nothing else
//         raw-sync  write() + fdatasync() per line
//         batched   audit::Logger, Durability::kBatched (sync every 512 records)
//         sync      audit::Logger, Durability::kSync (fdatasync per record)
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "audit/logger.h"
#include "audit/sha256.h"
#include "core/files.h"

namespace {

using namespace cloudcoop;
using namespace cloudcoop::audit;

Event ExecLike(int i) {
  return {RecordType::kExec, "web", {{"kind", "agent"}, {"name", "web"}, {"uid", 1001}},
          {{"argv", std::vector<std::string>{"/usr/bin/git", "status", "--porcelain", "--branch"}},
           {"cwd", "/workspace/project"},
           {"exe", "/usr/bin/git"},
           {"pid", 10000 + i},
           {"ppid", 9999}}};
}

std::string Line(int i, const std::string& prev) {
  Event e = ExecLike(i);
  Record r{kRecordVersion, static_cast<uint64_t>(i + 1), "2026-05-01T12:00:00.000Z", "bench", e.agent, e.actor, e.type,
           e.fields, prev};
  return SerializeRecord(r);
}

int Fail(const std::string& what) {
  (void)std::fprintf(stderr, "audit_writer_bench: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return Fail("usage: audit_writer_bench DIR MODE COUNT");
  std::string dir = argv[1], mode = argv[2];
  int count = std::atoi(argv[3]);
  if (count <= 0) return Fail("COUNT must be positive");
  if (!MakeDirs(dir, 0700).ok()) return Fail("cannot create " + dir);
  auto start = std::chrono::steady_clock::now();
  if (mode == "hash" || mode == "raw" || mode == "raw-sync") {
    UniqueFd fd;
    if (mode != "hash") {
      std::string path = JoinPath(dir, "raw.jsonl");
      fd = UniqueFd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600));
      if (!fd.valid()) return Fail("cannot open " + path);
    }
    std::string prev(kGenesisHash);
    for (int i = 0; i < count; ++i) {
      std::string line = Line(i, prev);
      if (mode == "hash") {
        prev = Sha256Hex(line);
        continue;
      }
      line += '\n';
      if (!WriteAll(fd.get(), line, "raw").ok()) return Fail("write failed");
      if (mode == "raw-sync" && fdatasync(fd.get()) != 0) return Fail("fdatasync failed");
    }
  } else if (mode == "batched" || mode == "sync") {
    LoggerOptions o;
    o.dir = JoinPath(dir, "audit");
    o.host = "bench";
    auto logger = Logger::Open(o);
    if (!logger.ok()) return Fail(logger.status().ToString());
    Durability d = mode == "sync" ? Durability::kSync : Durability::kBatched;
    for (int i = 0; i < count; ++i) {
      auto a = (*logger)->Append(ExecLike(i), d);
      if (!a.ok()) return Fail(a.status().ToString());
    }
    if (!(*logger)->Flush().ok()) return Fail("flush failed");
  } else {
    return Fail("unknown MODE " + mode);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  (void)std::printf("%-9s %8d records %8.3f s %12.0f records/s\n", mode.c_str(), count, secs, count / secs);
  return 0;
}
