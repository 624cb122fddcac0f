#include "sandbox/channel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "sandbox/layers.h"

namespace cloudcoop::sandbox::channel {
namespace {

constexpr size_t kMaxMessage = 16384;
constexpr size_t kMaxFds = 8;

void PutU32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void PutStr(std::string& out, const std::string& s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out += s;
}

bool GetU32(const char*& p, const char* end, uint32_t* v) {
  if (static_cast<size_t>(end - p) < sizeof *v) return false;
  std::memcpy(v, p, sizeof *v);
  p += sizeof *v;
  return true;
}
bool GetStr(const char*& p, const char* end, std::string* s) {
  uint32_t n;
  if (!GetU32(p, end, &n) || static_cast<size_t>(end - p) < n) return false;
  s->assign(p, n);
  p += n;
  return true;
}

}  // namespace

Status Send(int sock, const Message& msg) {
  std::string buf;
  buf.push_back(static_cast<char>(msg.type));
  PutU32(buf, static_cast<uint32_t>(msg.value));
  PutU32(buf, static_cast<uint32_t>(msg.status.code()));
  PutStr(buf, msg.status.message());
  PutStr(buf, msg.status.fix());
  PutStr(buf, msg.text);
  if (buf.size() > kMaxMessage) buf.resize(kMaxMessage);
  iovec iov{buf.data(), buf.size()};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  if (msg.fds.size() > kMaxFds) {
    return LayerError(Layer::kSupervisor, StatusCode::kInternal, "too many descriptors for one message",
                      "report this");
  }
  if (!msg.fds.empty()) {
    size_t bytes = sizeof(int) * msg.fds.size();
    mh.msg_control = control;
    mh.msg_controllen = CMSG_SPACE(bytes);
    cmsghdr* cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(bytes);
    std::memcpy(CMSG_DATA(cm), msg.fds.data(), bytes);
  }
  while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) {
      return LayerErrno(Layer::kSupervisor, "sendmsg", "(supervisor channel)", errno,
                        "the other side of the sandbox exited early; see its error above");
    }
  }
  return OkStatus();
}

StatusOr<Message> Recv(int sock) {
  std::vector<char> buf(kMaxMessage);
  iovec iov{buf.data(), buf.size()};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  mh.msg_control = control;
  mh.msg_controllen = sizeof control;
  ssize_t n;
  bool reset_seen = false;
  while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0) {
    // A peer that exited with our last message unread leaves ECONNRESET pending, and a
    // SOCK_SEQPACKET read reports it before what the peer queued first (its error report): the
    // read consumes the error, so read once more for the queue (or the end of it).
    if (errno == ECONNRESET && !reset_seen) {
      reset_seen = true;
      continue;
    }
    if (errno != EINTR) {
      return LayerErrno(Layer::kSupervisor, "recvmsg", "(supervisor channel)", errno, "report this");
    }
  }
  if (n == 0) {
    return Status(StatusCode::kUnavailable, "sandbox layer supervisor: the other side closed the channel");
  }
  Message msg;
  for (cmsghdr* cm = CMSG_FIRSTHDR(&mh); cm != nullptr; cm = CMSG_NXTHDR(&mh, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
      size_t n_fds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      msg.fds.resize(n_fds);
      std::memcpy(msg.fds.data(), CMSG_DATA(cm), n_fds * sizeof(int));
    }
  }
  const char* p = buf.data();
  const char* end = p + n;
  msg.type = static_cast<Type>(*p++);
  uint32_t value = 0, code = 0;
  std::string message, fix;
  if (!GetU32(p, end, &value) || !GetU32(p, end, &code) || !GetStr(p, end, &message) ||
      !GetStr(p, end, &fix) || !GetStr(p, end, &msg.text)) {
    for (int fd : msg.fds) close(fd);
    return LayerError(Layer::kSupervisor, StatusCode::kDataLoss,
                      "truncated message on the supervisor channel", "report this");
  }
  msg.value = static_cast<int32_t>(value);
  if (code != 0) msg.status = Status(static_cast<StatusCode>(code), message).WithFix(fix);
  return msg;
}

}  // namespace cloudcoop::sandbox::channel
