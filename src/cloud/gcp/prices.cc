#include "cloud/gcp/prices.h"

#include <cstdio>
#include <map>

namespace cloudcoop::gcp {
namespace {

// Approximate on-demand USD/hour (us-central1 / europe-north2 class regions, 2025 list prices,
// rounded). The c4a figures match the reference implementation's Spot numbers at a 70% discount.
const std::map<std::string, double>& OnDemandPrices() {
  static const std::map<std::string, double> prices = {
      {"c4a-highcpu-1", 0.025}, {"c4a-highcpu-2", 0.05},   {"c4a-highcpu-4", 0.10},  {"c4a-highcpu-8", 0.19},
      {"c4a-highcpu-16", 0.38}, {"c4a-highcpu-32", 0.77},  {"c4a-highcpu-48", 1.15}, {"c4a-highcpu-64", 1.54},
      {"c4a-standard-4", 0.18}, {"c4a-standard-8", 0.36},  {"c4a-standard-16", 0.72},
      {"e2-micro", 0.0084},     {"e2-small", 0.0168},      {"e2-medium", 0.0335},
      {"e2-standard-2", 0.067}, {"e2-standard-4", 0.134},  {"e2-standard-8", 0.268}, {"e2-standard-16", 0.536},
      {"e2-highcpu-4", 0.099},  {"e2-highcpu-8", 0.198},   {"e2-highcpu-16", 0.396},
      {"n2-standard-2", 0.097}, {"n2-standard-4", 0.194},  {"n2-standard-8", 0.388}, {"n2-standard-16", 0.777},
      {"n2d-standard-4", 0.169}, {"n2d-standard-8", 0.338}, {"t2a-standard-4", 0.154}, {"t2a-standard-8", 0.308},
  };
  return prices;
}

constexpr double kSpotFactor = 0.30;
constexpr double kDiskPerGbMonth = 0.10;  // balanced persistent disk
constexpr double kHoursPerMonth = 730;

}  // namespace

CostEstimate EstimateCost(const std::string& machine_type, bool spot, int64_t disk_size_gb, bool running) {
  CostEstimate c;
  c.disk_per_hour = static_cast<double>(disk_size_gb) * kDiskPerGbMonth / kHoursPerMonth;
  if (!running) {
    c.machine_per_hour = 0;
    return c;
  }
  auto it = OnDemandPrices().find(machine_type);
  if (it != OnDemandPrices().end()) c.machine_per_hour = it->second * (spot ? kSpotFactor : 1.0);
  return c;
}

std::string FormatDollarsPerHour(double dollars) {
  char buf[32];
  std::snprintf(buf, sizeof buf, dollars < 0.1 ? "$%.3f/h" : "$%.2f/h", dollars);
  return buf;
}

}  // namespace cloudcoop::gcp
