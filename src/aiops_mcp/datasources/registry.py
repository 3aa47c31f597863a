"""Named datasources and their clients, built on first use and closed together."""

from collections.abc import Callable, Iterable

from aiops_mcp.datasources.breaker import BreakerState
from aiops_mcp.datasources.config import DatasourceConfig, DatasourceType
from aiops_mcp.datasources.errors import DatasourceError
from aiops_mcp.datasources.http import BackendClient
from aiops_mcp.datasources.loki import LokiClient
from aiops_mcp.datasources.prometheus import PrometheusClient

Observer = Callable[[str, str, float], None]
CLIENT_TYPES: dict[str, type[BackendClient]] = {"prometheus": PrometheusClient, "loki": LokiClient}


class UnknownDatasource(DatasourceError):
    """No datasource of that type and name is configured."""


class DatasourceRegistry:
    """Datasources by name; the first of each type is the default when no name is given."""

    def __init__(self, configs: Iterable[DatasourceConfig] = (), observe: Observer | None = None) -> None:
        self._configs: dict[str, DatasourceConfig] = {}
        self._clients: dict[str, BackendClient] = {}
        self._retired: list[BackendClient] = []
        self._observe = observe
        for config in configs:
            self.add(config)

    def add(self, config: DatasourceConfig) -> None:
        """Register (or replace) a datasource; a replaced one's client is rebuilt on next use."""
        self._configs[config.name] = config
        self._retire(config.name)

    def remove(self, name: str) -> None:
        """Forget a datasource (deleted or disabled): it is no longer found nor queried."""
        self._configs.pop(name, None)
        self._retire(name)

    def _retire(self, name: str) -> None:
        # Requests in flight may still hold the old client: it is closed with the registry.
        if (client := self._clients.pop(name, None)) is not None:
            self._retired.append(client)

    def configs(self, kind: DatasourceType | None = None) -> list[DatasourceConfig]:
        return [c for c in self._configs.values() if kind is None or c.type == kind]

    def has(self, kind: DatasourceType, name: str | None = None) -> bool:
        """Whether `config(kind, name)` would find a datasource."""
        return any(name is None or c.name == name for c in self.configs(kind))

    def config(self, kind: DatasourceType, name: str | None = None) -> DatasourceConfig:
        """The named datasource of this type, or the default one; a clear error listing the known ones."""
        candidates = self.configs(kind)
        if not candidates:
            raise UnknownDatasource(name or kind, f"no {kind} datasource is configured")
        if name is None:
            return candidates[0]
        for config in candidates:
            if config.name == name:
                return config
        known = ", ".join(c.name for c in candidates)
        raise UnknownDatasource(name, f"no {kind} datasource named {name!r}; known: {known}")

    def prometheus(self, name: str | None = None) -> PrometheusClient:
        client = self._client(self.config("prometheus", name))
        assert isinstance(client, PrometheusClient)
        return client

    def loki(self, name: str | None = None) -> LokiClient:
        client = self._client(self.config("loki", name))
        assert isinstance(client, LokiClient)
        return client

    def breaker_states(self) -> dict[str, BreakerState]:
        """Each configured datasource's circuit breaker; one not used yet is closed."""
        closed = BreakerState("closed", 0)
        return {
            name: client.breaker if (client := self._clients.get(name)) else closed for name in self._configs
        }

    def _client(self, config: DatasourceConfig) -> BackendClient:
        client = self._clients.get(config.name)
        if client is None:
            client = CLIENT_TYPES[config.type](config, observe=self._observe)
            self._clients[config.name] = client
        return client

    async def aclose(self) -> None:
        for client in [*self._clients.values(), *self._retired]:
            await client.aclose()
        self._clients.clear()
        self._retired.clear()
