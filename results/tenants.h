// Per-tenant results (docs/fairness.md): tenants.csv and the summary's jain_fairness,
// computed from a run's records alone, so that they mean the same in both worlds.
#pragma once

#include <vector>

#include "core/tenants.h"
#include "results/metrics.h"

namespace fulcrum {

// Fills records.tenants — one row per tenant that has jobs, declared tenants first in
// their order, then the others by name — and records.summary.jain_fairness.
//
// A tenant's share of a dimension is the capacity-time its finished tasks held (request x
// (end - start)) over the cluster's capacity of it x the makespan (workers that have the
// dimension; memory only where limited), as utilisation_cores is; its dominant share the
// largest of them. Over a whole run these follow demand (every task runs in the end), so
// fairness is read while tenants compete: a tenant is backlogged while some task of it
// waits (from its submit to its start); its backlogged_share is its instantaneous
// dominant share (what its running tasks hold over the capacity, largest dimension)
// averaged over its backlogged time. jain_fairness is Jain's index (sum x)^2 / (n sum x^2)
// over the n backlogged tenants' x = instantaneous dominant share / weight, averaged over
// the time n >= 2: 1 when competing tenants hold shares in proportion to their weights,
// 1/n when one holds everything.
// REQUIRES: records.summary is computed (its makespan).
void summarize_tenants(RunRecords& records, const std::vector<TenantSpec>& declared);

}  // namespace fulcrum
