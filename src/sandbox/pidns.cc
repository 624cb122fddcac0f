#include "sandbox/pidns.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>

#include "sandbox/layers.h"

namespace cloudcoop::sandbox::pidns {

Status ArmDeathSignalInChild(int channel_fd) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
    return LayerErrno(Layer::kPidns, "prctl(PR_SET_PDEATHSIG)", "SIGKILL", errno, "report this");
  }
  // The supervisor may have died before the signal was armed: its end of the channel is then closed.
  pollfd p{channel_fd, POLLRDHUP, 0};
  if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0) {
    return LayerError(Layer::kPidns, StatusCode::kAborted,
                      "the supervisor exited while the sandbox was starting",
                      "nothing to do: the sandbox does not start without its supervisor");
  }
  return OkStatus();
}

Status VerifyInChild() {
  if (getpid() != 1) {
    return LayerVerifyError(Layer::kPidns, "the sandbox init is pid " + std::to_string(getpid()) + ", not 1",
                            "report this: clone() did not create a pid namespace");
  }
  int sig = 0;
  if (prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) != 0 || sig != SIGKILL) {
    return LayerVerifyError(Layer::kPidns, "the parent-death signal is not SIGKILL", "report this");
  }
  return OkStatus();
}

}  // namespace cloudcoop::sandbox::pidns
