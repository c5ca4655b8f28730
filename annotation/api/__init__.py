"""REST API of the relabelling campaigns: serializers parse and shape, services decide."""
