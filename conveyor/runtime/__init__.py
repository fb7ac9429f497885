"""The scheduler: runs a pipeline graph as a bounded stream on asyncio."""
