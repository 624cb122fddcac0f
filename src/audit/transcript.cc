#include "audit/transcript.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "core/files.h"

namespace cloudcoop::audit {

std::string TranscriptPath(const std::string& dir, const std::string& name) { return dir + "/" + name + ".log"; }
std::string PreviousTranscriptPath(const std::string& dir, const std::string& name) {
  return TranscriptPath(dir, name) + ".1";
}

TranscriptWriter::TranscriptWriter(TranscriptOptions options, std::shared_ptr<const Redactor> redactor)
    : options_(std::move(options)), redactor_(std::move(redactor)), stream_(*redactor_) {}

TranscriptWriter::~TranscriptWriter() {
  if (fd_ >= 0) close(fd_);
}

StatusOr<std::unique_ptr<TranscriptWriter>> TranscriptWriter::Open(const TranscriptOptions& options,
                                                                   std::shared_ptr<const Redactor> redactor) {
  if (redactor == nullptr) return InvalidArgumentError("transcript of " + options.name + ": no redactor");
  if (options.max_bytes < kMinTranscriptBytes) {
    return InvalidArgumentError("transcript cap " + std::to_string(options.max_bytes) + " bytes is below the minimum of " +
                                std::to_string(kMinTranscriptBytes))
        .WithFix("set audit.transcript_max_bytes to 4K or more");
  }
  CC_RETURN_IF_ERROR(MakeDirs(options.dir, 0700));
  struct stat st;
  if (lstat(options.dir.c_str(), &st) != 0) return ErrnoError(errno, "stat transcript directory " + options.dir);
  if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
    return FailedPreconditionError("transcript directory " + options.dir +
                                   " is not a directory of this user with mode 0700")
        .WithFix("chmod 700 " + options.dir + " (and chown it to root), or remove it");
  }
  std::unique_ptr<TranscriptWriter> w(new TranscriptWriter(options, std::move(redactor)));
  CC_RETURN_IF_ERROR(w->OpenFile());
  return w;
}

Status TranscriptWriter::OpenFile() {
  std::string path = TranscriptPath(options_.dir, options_.name);
  int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoError(errno, "open transcript " + path);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return FailedPreconditionError("transcript " + path + " is not a regular file").WithFix("remove it");
  }
  if ((st.st_mode & 077) != 0 && fchmod(fd, 0600) != 0) {
    int e = errno;
    close(fd);
    return ErrnoError(e, "chmod 600 transcript " + path);
  }
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
  size_ = static_cast<uint64_t>(st.st_size);
  return OkStatus();
}

Status TranscriptWriter::Rotate() {
  std::string path = TranscriptPath(options_.dir, options_.name);
  std::string prev = PreviousTranscriptPath(options_.dir, options_.name);
  if (rename(path.c_str(), prev.c_str()) != 0) return ErrnoError(errno, "rotate transcript " + path);
  ++rotations_;
  return OpenFile();
}

Status TranscriptWriter::Append(std::string_view data) {
  while (!data.empty()) {
    if (size_ >= options_.max_bytes) CC_RETURN_IF_ERROR(Rotate());
    uint64_t room = options_.max_bytes - size_;
    size_t n = static_cast<size_t>(std::min<uint64_t>(room, data.size()));
    // Prefer to cut after a newline, so a rotated file ends with a whole line.
    if (n < data.size()) {
      size_t nl = data.substr(0, n).rfind('\n');
      if (nl != std::string_view::npos && size_ > 0) n = nl + 1;
    }
    CC_RETURN_IF_ERROR(WriteAll(fd_, data.substr(0, n), "transcript " + TranscriptPath(options_.dir, options_.name)));
    size_ += n;
    data.remove_prefix(n);
    if (!data.empty() && size_ > 0) CC_RETURN_IF_ERROR(Rotate());
  }
  return OkStatus();
}

Status TranscriptWriter::Write(std::string_view chunk) { return Append(stream_.Write(chunk)); }

Status TranscriptWriter::Finish() { return Append(stream_.Finish()); }

Status TranscriptWriter::Pump(int fd) {
  std::string buf(64 * 1024, '\0');
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = ErrnoError(errno, "read the pane output of " + options_.name);
      (void)Finish();
      return st;
    }
    if (n == 0) break;
    CC_RETURN_IF_ERROR(Write(std::string_view(buf.data(), static_cast<size_t>(n))));
  }
  return Finish();
}

std::string StripTerminalEscapes(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  size_t i = 0;
  while (i < t.size()) {
    unsigned char c = static_cast<unsigned char>(t[i]);
    if (c == 0x1b) {
      if (i + 1 >= t.size()) break;
      char k = t[i + 1];
      if (k == '[') {  // CSI: parameters and intermediates, then a final byte 0x40-0x7e
        size_t j = i + 2;
        while (j < t.size() && !(t[j] >= 0x40 && t[j] <= 0x7e)) ++j;
        i = j + 1;
      } else if (k == ']' || k == 'P' || k == '_' || k == '^' || k == 'X') {  // OSC/DCS/APC/PM/SOS: to BEL or ST
        size_t j = i + 2;
        while (j < t.size()) {
          if (t[j] == '\a') {
            ++j;
            break;
          }
          if (t[j] == 0x1b && j + 1 < t.size() && t[j + 1] == '\\') {
            j += 2;
            break;
          }
          ++j;
        }
        i = j;
      } else if (k == '(' || k == ')' || k == '*' || k == '+' || k == '#' || k == '%') {  // charset: one more byte
        i += 3;
      } else {
        i += 2;
      }
      continue;
    }
    if (c == '\n' || c == '\t' || c >= 0x20) {
      if (c != 0x7f) out.push_back(static_cast<char>(c));
    }
    ++i;
  }
  return out;
}

namespace {

// The last `lines` lines of the file (fewer when it has fewer), and how many it returned.
StatusOr<std::string> LastLines(const std::string& path, int lines, int* found) {
  *found = 0;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return ErrnoError(errno, "open transcript " + path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return ErrnoError(e, "stat transcript " + path);
  }
  off_t end = st.st_size;
  std::string tail;
  const size_t block = 64 * 1024;
  off_t pos = end;
  while (pos > 0) {
    size_t n = static_cast<size_t>(std::min<off_t>(pos, static_cast<off_t>(block)));
    pos -= static_cast<off_t>(n);
    std::string buf(n, '\0');
    ssize_t r = pread(fd, buf.data(), n, pos);
    if (r < 0) {
      int e = errno;
      close(fd);
      return ErrnoError(e, "read transcript " + path);
    }
    buf.resize(static_cast<size_t>(r));
    tail.insert(0, buf);
    // A trailing newline ends the last line; count line starts.
    size_t newlines = static_cast<size_t>(std::count(tail.begin(), tail.end(), '\n'));
    if (!tail.empty() && tail.back() != '\n') ++newlines;
    if (newlines > static_cast<size_t>(lines)) break;
  }
  close(fd);
  // Keep the last `lines` lines.
  size_t cut = tail.size();
  if (!tail.empty() && tail.back() == '\n') --cut;
  int count = 0;
  size_t start = 0;
  while (count < lines) {
    if (cut == 0) {
      start = 0;
      break;
    }
    size_t nl = tail.rfind('\n', cut - 1);
    ++count;
    if (nl == std::string::npos) {
      start = 0;
      break;
    }
    start = nl + 1;
    cut = nl;
  }
  *found = tail.empty() ? 0 : count;
  return tail.substr(start);
}

}  // namespace

StatusOr<std::string> TranscriptTail(const std::string& dir, const std::string& name, int lines) {
  std::string cur = TranscriptPath(dir, name), prev = PreviousTranscriptPath(dir, name);
  bool have_cur = PathExists(cur), have_prev = PathExists(prev);
  if (!have_cur && !have_prev) {
    return NotFoundError("agent " + name + " has no transcript yet (" + cur + ")")
        .WithFix("the transcript starts with the agent's first output; agents started before transcripts existed "
                 "get one when restarted: cloudcoop agent restart " + name);
  }
  if (lines <= 0) return std::string();
  std::string out;
  int found = 0;
  if (have_cur) {
    CC_ASSIGN_OR_RETURN(out, LastLines(cur, lines, &found));
  }
  if (found < lines && have_prev) {
    int more = 0;
    CC_ASSIGN_OR_RETURN(std::string older, LastLines(prev, lines - found, &more));
    if (!older.empty() && older.back() != '\n' && !out.empty()) older.push_back('\n');
    out = older + out;
  }
  return out;
}

Status FollowTranscript(const std::string& dir, const std::string& name,
                        const std::function<void(std::string_view)>& emit, const std::function<bool()>& keep_going,
                        std::chrono::milliseconds poll) {
  std::string path = TranscriptPath(dir, name);
  int fd = -1;
  ino_t ino = 0;
  std::string partial;
  auto open_current = [&](bool at_end) -> Status {
    int f = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f < 0) {
      if (errno == ENOENT) return OkStatus();  // between rotation's rename and open: try again later
      return ErrnoError(errno, "open transcript " + path);
    }
    struct stat st;
    if (fstat(f, &st) != 0) {
      int e = errno;
      close(f);
      return ErrnoError(e, "stat transcript " + path);
    }
    if (at_end && lseek(f, 0, SEEK_END) < 0) {
      int e = errno;
      close(f);
      return ErrnoError(e, "seek transcript " + path);
    }
    fd = f;
    ino = st.st_ino;
    return OkStatus();
  };
  auto drain = [&]() -> Status {
    char buf[65536];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError(errno, "read transcript " + path);
      if (n == 0) return OkStatus();
      partial.append(buf, static_cast<size_t>(n));
      size_t nl = partial.rfind('\n');
      if (nl != std::string::npos) {
        emit(std::string_view(partial).substr(0, nl + 1));
        partial.erase(0, nl + 1);
      } else if (partial.size() >= sizeof buf) {
        emit(partial);
        partial.clear();
      }
    }
  };
  CC_RETURN_IF_ERROR(open_current(/*at_end=*/true));
  Status st = OkStatus();
  while (st.ok() && keep_going()) {
    if (fd >= 0) st = drain();
    if (!st.ok()) break;
    struct stat now;
    bool rotated = fd < 0 || (stat(path.c_str(), &now) == 0 && now.st_ino != ino);
    if (rotated && fd >= 0) {
      st = drain();  // the rest of the renamed file
      close(fd);
      fd = -1;
    }
    if (fd < 0) {
      st = open_current(/*at_end=*/false);
      if (st.ok() && fd >= 0) continue;
    }
    std::this_thread::sleep_for(poll);
  }
  // What was written since the last look (the writer's last words before the agent went away,
  // or before we were asked to stop), also when the file rotated meanwhile.
  if (st.ok() && fd >= 0) st = drain();
  struct stat now;
  if (st.ok() && (fd < 0 || (stat(path.c_str(), &now) == 0 && now.st_ino != ino))) {
    if (fd >= 0) close(fd);
    fd = -1;
    st = open_current(/*at_end=*/false);
    if (st.ok() && fd >= 0) st = drain();
  }
  if (fd >= 0) close(fd);
  if (!partial.empty()) emit(partial);
  return st;
}

}  // namespace cloudcoop::audit
