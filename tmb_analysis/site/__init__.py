"""The report site's machinery: plan (jobs, page names), kernels and pool (running notebooks), pages, publish."""
