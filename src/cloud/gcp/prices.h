// A small built-in price table for `cloudcoop status` (reference-system.md section 9). Approximate
// on-demand list prices in USD per hour; Spot is estimated at 30% of on-demand (it floats). Good
// enough to see what a running agent host costs, not a bill.
#ifndef CLOUDCOOP_CLOUD_GCP_PRICES_H_
#define CLOUDCOOP_CLOUD_GCP_PRICES_H_

#include <cstdint>
#include <optional>
#include <string>

namespace cloudcoop::gcp {

struct CostEstimate {
  std::optional<double> machine_per_hour;  // empty: the machine type is not in the table
  double disk_per_hour = 0;
  std::optional<double> total_per_hour() const {
    if (!machine_per_hour) return std::nullopt;
    return *machine_per_hour + disk_per_hour;
  }
};

// `running`: a stopped VM pays only for its disk.
CostEstimate EstimateCost(const std::string& machine_type, bool spot, int64_t disk_size_gb, bool running);

// "$0.12/h"
std::string FormatDollarsPerHour(double dollars);

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_PRICES_H_
