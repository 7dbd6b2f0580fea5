# natter in a container: build the single binary, ship it on a slim base.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/natter natter && mkdir -p /var/lib/natter && chown natter /var/lib/natter
COPY --from=build /src/dist/natter /usr/local/bin/natter
USER natter
WORKDIR /var/lib/natter
EXPOSE 8080
VOLUME /var/lib/natter
ENV NATTER_DATA=/var/lib/natter/data
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/natter"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
