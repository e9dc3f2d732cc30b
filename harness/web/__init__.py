"""The web agents' tools: pages fetched and rendered as markdown with their links
(:mod:`~harness.web.fetch`) and Google search through Serper (:mod:`~harness.web.serper`)."""
