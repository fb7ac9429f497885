"""One module per workload; each pairs the conveyor version with its plain-asyncio baseline(s)."""
