"""Map tiles: every map layer as tiles, so no page ever ships all the data.

Endpoints (`tiles.urls`, `tiles.urls_api`):
- `/tiles/{layer}/{z}/{x}/{y}.pbf`: Mapbox Vector Tiles built by PostGIS ST_AsMVT (one SQL
  statement per tile), 204 when empty, ETag/304, gzip when accepted. MVT source-layer names
  equal the URL layer names: `reports`, `hazard-zones`, `infrastructure`, `districts`,
  `service-area`, `responsibility` (staff only). See `tiles.layers` for attributes.
- `/tiles/{layer}.json`: TileJSON 3.0 for the layer.
- `/tiles/heat/{z}/{x}/{y}.png`: density heat tiles (`tiles.heat`).
- `/api/v1/stats/grid/`: square or hexagonal cells with counts, GeoJSON (`tiles.grid`).

Client: Leaflet.VectorGrid (npm `leaflet.vectorgrid`, served at
/static/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.js; the bundled build includes
its protobuf decoders). It treats a 204 as an empty tile and sends the session cookie on
same-origin requests, so staff see staff tiles. Style by source-layer name; in `reports`,
features with a `count` property are cells (always below z13, and at z >= 13 in a tile too
dense for points), the others are points:

    L.vectorGrid.protobuf("/tiles/reports/{z}/{x}/{y}.pbf?status=assigned,in_progress", {
      rendererFactory: L.canvas.tile, interactive: true, maxNativeZoom: 22,
      getFeatureId: (f) => f.properties.id,
      vectorTileLayerStyles: {
        reports: (p, z) => p.count !== undefined
          ? {radius: Math.min(4 + Math.sqrt(p.count), 22), fill: true, fillOpacity: 0.6}
          : {radius: 5, fill: true, color: p.overdue ? "#d1242f" : "#1f6feb"},
      },
    }).addTo(map);

Heat tiles are plain raster tiles: `L.tileLayer("/tiles/heat/{z}/{x}/{y}.png?weight=open")`.
"""
