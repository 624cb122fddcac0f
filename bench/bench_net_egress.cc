// Per-sandbox cost of the egress network setup: cloudcoop's in-process netlink path
// (EgressSandbox::Setup) against the same kind of setup done with 8 `ip` invocations (the
// machine-notes baseline), side by side and interleaved in one run.
//
// Everything happens inside a namespace topology made for the run (testing/netns_topology.h): the
// real host's network is never touched. Each iteration gets a fresh sandbox network namespace (a
// waiting child); creating it is not timed, only the network configuration and, separately, its
// teardown.
//
//   bench_net_egress [ITERATIONS]     prints a Markdown table and the ratios
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "core/process.h"
#include "sandbox/net_egress.h"
#include "testing/netns_topology.h"
#include "core/files.h"

using namespace cloudcoop;  // NOLINT
using SteadyClock = std::chrono::steady_clock;

namespace {

double Ms(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Stats {
  double p50 = 0, p90 = 0, min = 0;
};
Stats Summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Stats s;
  if (v.empty()) return s;
  s.min = v.front();
  s.p50 = v[v.size() / 2];
  s.p90 = v[std::min(v.size() - 1, v.size() * 9 / 10)];
  return s;
}

bool RunIp(const std::vector<std::string>& args) {
  ProcessSpec spec;
  spec.argv = {"ip"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  auto r = DefaultProcessRunner().Run(spec);
  if (!r.ok() || !r->success()) {
    std::fprintf(stderr, "ip %s failed: %s\n", args.empty() ? "" : args[0].c_str(),
                 r.ok() ? r->err.c_str() : r.status().ToString().c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 30;
  auto topo = testing::NetnsTopology::Create();
  if (!topo.ok()) {
    std::fprintf(stderr, "bench_net_egress: %s\n", topo.status().ToString().c_str());
    return 1;
  }
  testing::ScopedNetns in_host((*topo)->host_fd());
  if (!in_host.ok()) return 1;
  char tmpl[] = "/tmp/cc-bench-net.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  std::string dir = tmpl;
  sandbox::EgressConfig config;
  config.alloc_dir = dir + "/net";
  config.dns_upstreams = {*sandbox::IpAddr::Parse(testing::NetnsTopology::kMetadataAddr)};
  if (Status s = sandbox::PrepareEgressHost(config, DefaultProcessRunner()); !s.ok()) {
    std::fprintf(stderr, "bench_net_egress: %s\n", s.ToString().c_str());
    return 1;
  }
  std::string ns_name = "cc-b" + std::to_string(getpid());

  std::vector<double> cc_setup, cc_verify, cc_teardown, ip_setup, ip_teardown;
  // Where Setup's time goes: the step hook marks each step's start.
  std::vector<std::string> step_names;
  std::map<std::string, std::vector<double>> step_ms;
  std::vector<std::pair<std::string, SteadyClock::time_point>> marks;
  config.fault_injection = [&marks](std::string_view step) {
    marks.emplace_back(std::string(step), SteadyClock::now());
    return OkStatus();
  };
  for (int i = 0; i < iterations + 1; ++i) {  // the first round warms up and is not counted
    {
      auto child = testing::NetnsChild::Start();
      if (!child.ok()) return 1;
      marks.clear();
      auto t0 = SteadyClock::now();
      auto sb = sandbox::EgressSandbox::Setup(config, (*child)->netns_fd(), "bench");
      auto t1 = SteadyClock::now();
      marks.emplace_back("end", t1);
      if (i > 0) {
        for (size_t k = 0; k + 1 < marks.size(); ++k) {
          if (i == 1) step_names.push_back(marks[k].first);
          step_ms[marks[k].first].push_back(Ms(marks[k + 1].second - marks[k].second));
        }
      }
      if (!sb.ok()) {
        std::fprintf(stderr, "setup: %s\n", sb.status().ToString().c_str());
        return 1;
      }
      Status v = (*sb)->Verify();
      auto t2 = SteadyClock::now();
      if (!v.ok()) return 1;
      Status c = (*sb)->Cleanup();
      auto t3 = SteadyClock::now();
      if (!c.ok()) return 1;
      if (i > 0) {
        cc_setup.push_back(Ms(t1 - t0));
        cc_verify.push_back(Ms(t2 - t1));
        cc_teardown.push_back(Ms(t3 - t2));
      }
    }
    {
      auto child = testing::NetnsChild::Start();
      if (!child.ok()) return 1;
      std::string pid = std::to_string((*child)->pid());
      auto t0 = SteadyClock::now();
      bool ok = RunIp({"netns", "attach", ns_name, pid}) &&
                RunIp({"link", "add", "cceg0", "type", "veth", "peer", "name", "eth0", "netns", ns_name}) &&
                RunIp({"addr", "add", "100.96.0.1/30", "dev", "cceg0"}) && RunIp({"link", "set", "cceg0", "up"}) &&
                RunIp({"-n", ns_name, "addr", "add", "100.96.0.2/30", "dev", "eth0"}) &&
                RunIp({"-n", ns_name, "link", "set", "eth0", "up"}) && RunIp({"-n", ns_name, "link", "set", "lo", "up"}) &&
                RunIp({"-n", ns_name, "route", "add", "default", "via", "100.96.0.1"});
      auto t1 = SteadyClock::now();
      bool down = RunIp({"link", "del", "cceg0"}) && RunIp({"netns", "delete", ns_name});
      auto t2 = SteadyClock::now();
      if (!ok || !down) return 1;
      if (i > 0) {
        ip_setup.push_back(Ms(t1 - t0));
        ip_teardown.push_back(Ms(t2 - t1));
      }
    }
  }
  Stats s = Summarize(cc_setup), v = Summarize(cc_verify), t = Summarize(cc_teardown);
  Stats is = Summarize(ip_setup), it = Summarize(ip_teardown);
  std::printf("| step (%d iterations, interleaved) | p50 ms | p90 ms | min ms |\n|---|---|---|---|\n", iterations);
  std::printf("| cloudcoop EgressSandbox::Setup (netlink, in-process) | %.3f | %.3f | %.3f |\n", s.p50, s.p90, s.min);
  std::printf("| cloudcoop Verify (read-back) | %.3f | %.3f | %.3f |\n", v.p50, v.p90, v.min);
  std::printf("| cloudcoop Cleanup | %.3f | %.3f | %.3f |\n", t.p50, t.p90, t.min);
  std::printf("| 8 `ip` invocations (veth, 2 addresses, 3 links up, default route, netns attach) | %.3f | %.3f | %.3f |\n",
              is.p50, is.p90, is.min);
  std::printf("| 2 `ip` invocations to tear down | %.3f | %.3f | %.3f |\n", it.p50, it.p90, it.min);
  (void)RemoveTree(dir);
  std::printf("\nSetup by step (p50 ms):");
  for (const auto& n : step_names) std::printf(" %s %.3f;", n.c_str(), Summarize(step_ms[n]).p50);
  std::printf("\n");
  std::printf("\nsetup ratio (ip / cloudcoop, p50): %.1fx; setup+verify ratio: %.1fx; teardown ratio: %.1fx\n",
              is.p50 / s.p50, is.p50 / (s.p50 + v.p50), it.p50 / t.p50);
  return 0;
}
