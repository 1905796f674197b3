"""How a run reads its hosts: what the stages will read, declared up front (declared), one
snapshot per host that answers those reads in one round trip (snapshot), and the run lock that
comes with the first (run_lock)."""
