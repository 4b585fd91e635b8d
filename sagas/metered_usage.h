// The billing saga's usage source over the metering read model: a period's units of
// each meter a plan prices (each minute counted in the period in which it starts: minute
// windows at the ends, hour windows between), and for meters that keep transactions,
// each transaction of the period by event time, which the percentage charge models
// price one by one.
#pragma once

#include "projections/usage/usage_model.h"
#include "sagas/billing_cycle.h"

namespace tenantry::sagas {

// A meter the model does not define is left out (the plan prices no usage of it).
// More than 1,000,000 transactions in a period is an `invalid_argument` error (the
// decider's own limit; the close is refused rather than billed partly).
UsageSource metered_usage(projections::UsageQueries& queries, const projections::UsageModel& model);

}  // namespace tenantry::sagas
