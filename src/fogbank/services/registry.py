"""The providers a server runs, built once from the Config."""

from __future__ import annotations

from fogbank.config import Config
from fogbank.protocol.accounts import KeyStore
from fogbank.protocol.dispatch import Provider


def build_providers(config: Config, keys: KeyStore) -> list[Provider]:
    from fogbank.services.kinesis.provider import KinesisProvider
    from fogbank.services.s3.provider import S3Provider
    from fogbank.services.sts.provider import StsProvider

    return [S3Provider(config), StsProvider(config, keys), KinesisProvider(config, enforce_limits=config.kinesis_limits)]
