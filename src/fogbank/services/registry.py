"""The providers a server runs, built once from the Config."""

from __future__ import annotations

from fogbank.config import Config
from fogbank.protocol.accounts import KeyStore
from fogbank.protocol.dispatch import Provider


def build_providers(config: Config, keys: KeyStore) -> list[Provider]:
    """Providers are closed in list order: those whose workers use other stores come first."""
    from fogbank.services.athena.provider import AthenaProvider
    from fogbank.services.firehose.provider import FirehoseProvider
    from fogbank.services.glue.provider import GlueProvider
    from fogbank.services.kinesis.provider import KinesisProvider
    from fogbank.services.s3.provider import S3Provider
    from fogbank.services.sts.provider import StsProvider

    s3 = S3Provider(config)
    kinesis = KinesisProvider(config, enforce_limits=config.kinesis_limits)
    glue = GlueProvider(config, s3)
    athena = AthenaProvider(config, s3, glue.catalog)
    firehose = FirehoseProvider(config, s3=s3, kinesis=kinesis, glue=glue)
    return [athena, firehose, s3, StsProvider(config, keys), kinesis, glue]
